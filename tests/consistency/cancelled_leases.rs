//! Issue 10, defect 1 (abandoned leases): no sequence of cancellations leaves a lease that
//! blocks a later caller, in any process, for longer than a few hundred milliseconds.
//!
//! - A leader and its only in-process waiter cancelled together (one request's task
//!   aborted, both calls in it), on Redis and on `MemoryCache`: today nobody gives the
//!   lease back, and the next caller on another handle waits the whole lease.
//! - A call cancelled after its body finished, while its store was on the wire and did not
//!   land (the server had forgotten the store script): today the lease stays.
//! - A call cancelled while the `SET NX` that takes its lease was on the wire (held back by
//!   `CLIENT PAUSE ... WRITE`), which lands afterwards: today the lease stays.
//!
//! The storm of random cancellations is in `cancel_storm.rs`. "Another handle" is what
//! another process would have: a cache handle that shares no in-process state with the
//! first (a second `RedisCache` built from the URL; a view of the `MemoryCache` with an
//! identity of its own).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cache_aside::{RedisCache, cached};
use tokio::sync::Notify;

use crate::in_place::in_place;
use crate::support::RedisServer;
use crate::support::backend::Backend;
use crate::support::matrix::by_backend;
use crate::support::wait::eventually;

/// The lease of every load here: a leaked one shows as a wait of seconds.
const LEASE: Duration = Duration::from_secs(5);
/// How long the next caller may take: far below `LEASE`.
const NEXT_CALL: Duration = Duration::from_secs(1);
/// A bound on every other wait.
const LIMIT: Duration = Duration::from_secs(10);

/// What a body does: it announces itself, then waits for `release` (or for ever).
#[derive(Default)]
struct Gate {
    entered: Notify,
    release: Notify,
    /// Announces the end of the body, as its last step before returning.
    finished: Notify,
}

/// The functions and the case of a leader and its waiter cancelled together, once per
/// backend, so that the miss count the case waits on is its own.
macro_rules! abandoned {
    ($backend:ident) => {
        mod $backend {
            use std::sync::Arc;
            use std::time::Instant;

            use cache_aside::{SharedCache, cached, stats_for};

            use super::{Backend, Gate, LEASE, LIMIT, NEXT_CALL, bounded, in_place};

            /// The load whose callers are cancelled: it never finishes.
            #[cached(key = "{key}", ttl = 600, lease = "5s", cache = cache)]
            async fn stuck(cache: &SharedCache, key: &str, gate: &Gate) -> String {
                gate.entered.notify_one();
                std::future::pending::<()>().await;
                unreachable!("the body never finishes")
            }

            /// The next caller of the same key, on another handle: a quick load.
            #[cached(key = "{key}", ttl = 600, lease = "5s", cache = cache)]
            async fn next(cache: &SharedCache, key: &str) -> String {
                format!("fresh {key}")
            }

            fn misses(function: &str) -> u64 {
                stats_for(&format!("{}::{function}", module_path!())).map_or(0, |s| s.misses)
            }

            /// One request's task holds a leader (its body running) and one waiter on the same key;
            /// the task is aborted, so both calls are dropped together, the leader first. The next
            /// caller, on another handle, must not wait for the lease.
            pub async fn a_leader_and_its_waiter_cancelled_together_leave_no_lease(b: Backend) {
                let (cache, twin) = (b.cache.clone(), b.twin.clone());
                let key = &b.key("abandoned");
                let gate = Arc::new(Gate::default());
                let before = misses("stuck");
                let request = tokio::spawn({
                    let (gate, key) = (Arc::clone(&gate), key.to_owned());
                    async move {
                        // Declared first and moved into the join second: a tuple drops its fields
                        // in order, so the leader is dropped before its waiter.
                        let waiter = Box::pin(stuck(&cache, &key, &gate));
                        let mut leader = Box::pin(stuck(&cache, &key, &gate));
                        tokio::select! {
                            _ = &mut leader => unreachable!("the body never finishes"),
                            () = gate.entered.notified() => {}
                        }
                        tokio::join!(leader, waiter)
                    }
                });
                // The leader is in its body; the waiter is in place once it has counted its miss
                // (the leader counted one already).
                in_place(|| async { misses("stuck") >= before + 2 }).await;
                request.abort();
                let aborted = bounded(LIMIT, "the aborted request", request).await;
                assert!(
                    aborted.is_err_and(|error| error.is_cancelled()),
                    "the request was aborted"
                );

                let started = Instant::now();
                let value = bounded(LIMIT, "the next caller", next(&twin, key)).await;
                let waited = started.elapsed();
                println!(
                    "{key}: the next caller on another handle waited {waited:?} (lease {LEASE:?})"
                );
                assert_eq!(value, format!("fresh {key}"));
                assert!(
                    waited < NEXT_CALL,
                    "a leader and its waiter cancelled together left their lease behind: the \
                     next caller on another handle waited {waited:?} (lease {LEASE:?}, bound \
                     {NEXT_CALL:?})"
                );
            }

        }
    };
}

abandoned!(memory);
abandoned!(redis);
abandoned!(redis_tiered);
abandoned!(cluster);
abandoned!(cluster_tiered);

by_backend!(a_leader_and_its_waiter_cancelled_together_leave_no_lease);

/// A load that finishes when it is released, announcing that it did.
#[cached(key = "{key}", ttl = 600, lease = "5s", cache = cache)]
async fn released(cache: &RedisCache, key: &str, gate: &Gate) -> String {
    gate.entered.notify_one();
    gate.release.notified().await;
    gate.finished.notify_one();
    format!("loaded {key}")
}

/// The same key read from another handle, quickly.
#[cached(key = "{key}", ttl = 600, lease = "5s", cache = cache)]
async fn released_next(cache: &RedisCache, key: &str) -> String {
    format!("fresh {key}")
}

async fn bounded<F: std::future::Future>(limit: Duration, what: &str, future: F) -> F::Output {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}

/// A call is cancelled after its body finished, while its store is on the wire (the server
/// is frozen, so it cannot have been answered), and the store does not land: the server had
/// forgotten the store script (`SCRIPT FLUSH`, as after a restart or a failover). Nothing
/// was stored, so the lease must be given back; today it stays until it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_cancelled_after_its_body_does_not_leave_its_lease() {
    let server = RedisServer::start();
    let connect = || crate::children::handle(&server.url());
    let (cache, twin) = (connect(), connect());
    let key = "after-body:key";
    // Loads the store script, as a server that has been up a while has it.
    assert_eq!(
        released_next(&cache, "after-body:warm").await,
        "fresh after-body:warm"
    );

    let gate = Arc::new(Gate::default());
    let call = tokio::spawn({
        let (cache, gate) = (cache.clone(), Arc::clone(&gate));
        async move { released(&cache, key, &gate).await }
    });
    bounded(LIMIT, "the load entering its body", gate.entered.notified()).await;
    let _: () = ::redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut server.raw())
        .expect("SCRIPT FLUSH");
    server.freeze();
    let finished = gate.finished.notified();
    gate.release.notify_one();
    bounded(LIMIT, "the body finishing", finished).await;
    // The call has sent its store by now (in the poll that finished the body) and cannot
    // have its reply: the server is frozen.
    call.abort();
    let aborted = bounded(LIMIT, "the aborted call", call).await;
    server.thaw();
    assert!(
        aborted.is_err_and(|error| error.is_cancelled()),
        "the call was cancelled before its store was answered"
    );

    let started = Instant::now();
    let value = bounded(LIMIT, "the next caller", released_next(&twin, key)).await;
    let waited = started.elapsed();
    println!("after body: the next caller on another handle waited {waited:?} (lease {LEASE:?})");
    assert!(
        value == "fresh after-body:key" || value == "loaded after-body:key",
        "{value}"
    );
    assert!(
        waited < NEXT_CALL,
        "a call cancelled after its body, with its store on the wire, left its lease \
         behind: the next caller on another handle waited {waited:?} (lease {LEASE:?}, \
         bound {NEXT_CALL:?})"
    );
}

/// How many clients the server holds back (`blocked_clients` in `INFO clients`): a client
/// whose write waits out a `CLIENT PAUSE ... WRITE` counts.
fn blocked_clients(server: &RedisServer) -> u64 {
    let info: String = ::redis::cmd("INFO")
        .arg("clients")
        .query(&mut server.raw())
        .expect("INFO clients");
    info.lines()
        .find_map(|line| line.strip_prefix("blocked_clients:"))
        .and_then(|count| count.trim().parse().ok())
        .expect("blocked_clients in INFO clients")
}

/// A call is cancelled while the command that takes its lease is on the wire: the server
/// holds writes back (`CLIENT PAUSE ... WRITE`) while reads go through, so the call's reads
/// are answered and its `SET NX` waits at the server; the call is aborted, then the server
/// lets writes through and the lease is taken for a call that is gone. Today nobody gives
/// it back, and the next caller waits the whole lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_cancelled_while_taking_its_lease_does_not_leave_it() {
    let server = RedisServer::start();
    let connect = || crate::children::handle(&server.url());
    let (cache, twin) = (connect(), connect());
    let key = "taking:key";
    // Connected, so that nothing but the call waits on the pause.
    assert_eq!(
        released_next(&cache, "taking:warm").await,
        "fresh taking:warm"
    );

    let _: () = ::redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(10_000)
        .arg("WRITE")
        .query(&mut server.raw())
        .expect("CLIENT PAUSE WRITE");
    let gate = Arc::new(Gate::default());
    let call = tokio::spawn({
        let (cache, gate) = (cache.clone(), Arc::clone(&gate));
        async move { released(&cache, key, &gate).await }
    });
    eventually(
        LIMIT,
        "the call's write held back at the server",
        || async { blocked_clients(&server) >= 1 },
    )
    .await;
    call.abort();
    let aborted = bounded(LIMIT, "the aborted call", call).await;
    let _: () = ::redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query(&mut server.raw())
        .expect("CLIENT UNPAUSE");
    assert!(
        aborted.is_err_and(|error| error.is_cancelled()),
        "the call was cancelled while taking its lease"
    );

    let started = Instant::now();
    let value = bounded(LIMIT, "the next caller", released_next(&twin, key)).await;
    let waited = started.elapsed();
    println!("taking: the next caller on another handle waited {waited:?} (lease {LEASE:?})");
    assert_eq!(value, "fresh taking:key");
    assert!(
        waited < NEXT_CALL,
        "a call cancelled while its SET NX was on the wire left its lease behind: the next \
         caller on another handle waited {waited:?} (lease {LEASE:?}, bound {NEXT_CALL:?})"
    );
}
