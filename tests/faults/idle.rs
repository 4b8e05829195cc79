//! A connection that died while idle (`CLIENT KILL`, Redis's `timeout`, the runtime that
//! drove it ending): the next command was never sent, so it goes out on a fresh connection,
//! whatever it is, and nothing fails or counts towards the breaker.

use std::sync::OnceLock;
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{BreakerState, RedisCache, cached};

use crate::common::{CALL_BOUND, RECOVERY, Raw, RedisServer, connected, counters, fast_failing};

/// Closes every normal client but the raw one asking.
fn kill_clients(raw: &Raw) {
    let killed: u64 = raw.query(redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal"));
    assert!(killed >= 1, "the cache's connection was open");
}

/// Nothing failed: the breaker never counted a failure.
fn untouched(cache: &RedisCache) {
    let health = cache.health();
    assert_eq!(health.state, BreakerState::Closed, "{health:?}");
    assert_eq!(
        (health.consecutive_failures, health.times_opened),
        (0, 0),
        "{health:?}"
    );
    assert_eq!(health.pending_invalidations, 0, "{health:?}");
}

#[cached(key = "idle:{id}", ttl = 600, cache = cache)]
async fn idle_load(cache: &RedisCache, id: u64) -> u64 {
    id + 1
}

/// Every command that is not resent after a lost reply (`UNLINK`, `INCRBY`, `DECRBY`,
/// `PEXPIRE`, the lease's `SET NX`) succeeds at the first try after `CLIENT KILL`.
#[tokio::test]
async fn commands_after_client_kill_go_out_on_a_fresh_connection() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let cache = fast_failing(server.url())
        .op_timeout(CALL_BOUND)
        .build()
        .unwrap();
    connected(&cache).await;

    cache.set("gone", "v", None).await.unwrap();
    kill_clients(&raw);
    assert!(cache.delete("gone").await.unwrap(), "UNLINK after a kill");
    assert!(!raw.exists("gone"));

    kill_clients(&raw);
    assert_eq!(
        cache.increment("n", 5).await.unwrap(),
        5,
        "INCRBY after a kill"
    );
    kill_clients(&raw);
    assert_eq!(
        cache.decrement("n", 2).await.unwrap(),
        3,
        "DECRBY after a kill"
    );
    kill_clients(&raw);
    assert!(
        cache.expire("n", Duration::from_secs(60)).await.unwrap(),
        "PEXPIRE after a kill"
    );
    kill_clients(&raw);
    assert_eq!(idle_load(&cache, 1).await, 2);
    assert_eq!(
        raw.get("idle:1").as_deref(),
        Some(&b"2"[..]),
        "the lease's SET NX"
    );
    assert_eq!(counters("idle::idle_load").errors, 0);
    untouched(&cache);
}

/// Redis's own `timeout` closes the idle connection; the next deletion still succeeds.
#[tokio::test]
async fn commands_after_the_server_timed_the_connection_out_succeed() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let cache = fast_failing(server.url())
        .op_timeout(CALL_BOUND)
        .build()
        .unwrap();
    connected(&cache).await;
    cache.set("old", "v", None).await.unwrap();
    raw.query::<()>(redis::cmd("CONFIG").arg("SET").arg("timeout").arg(1));
    // The raw connection stays busy enough not to be closed itself: it asks every 10 ms.
    let only_raw = || {
        let clients: String = raw.query(redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg("normal"));
        clients.lines().count() == 1
    };
    crate::common::eventually(RECOVERY, "the server closing the idle connection", || {
        let closed = only_raw();
        async move { closed }
    })
    .await;
    raw.query::<()>(redis::cmd("CONFIG").arg("SET").arg("timeout").arg(0));
    assert!(
        cache.delete("old").await.unwrap(),
        "UNLINK after the idle close"
    );
    assert_eq!(cache.increment("n", 1).await.unwrap(), 1);
    untouched(&cache);
}

/// A cache in a `static`, as an application (or a test suite) keeps one; its server is the
/// test's own, so that it stops with the test.
static SHARED: OnceLock<RedisCache> = OnceLock::new();

fn shared() -> &'static RedisCache {
    SHARED.get().expect("set by the test")
}

#[cached(key = "static:{run}:{id}", ttl = 600, cache = shared())]
async fn per_runtime(run: u64, id: u64) -> u64 {
    run * 100 + id
}

/// A `static` cache used from one runtime after another, as `#[tokio::test]`s do: the
/// connection opened in the first survives its runtime, and every runtime caches from its
/// first call.
#[test]
fn a_static_cache_works_from_the_first_call_of_every_runtime() {
    let server = RedisServer::start();
    let cache = fast_failing(server.url())
        .op_timeout(CALL_BOUND)
        .build()
        .unwrap();
    assert!(SHARED.set(cache).is_ok(), "one test sets it");
    for run in 0..6 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let before = counters("idle::per_runtime");
            // Not resent after a lost reply: only works if the connection is alive or known
            // to have died unsent.
            assert!(
                !shared().delete(&format!("nothing:{run}")).await.unwrap(),
                "the first call of runtime {run}"
            );
            assert_eq!(per_runtime(run, 1).await, run * 100 + 1);
            assert_eq!(per_runtime(run, 1).await, run * 100 + 1);
            let after = counters("idle::per_runtime");
            assert_eq!(after.errors, before.errors, "runtime {run}: {after:?}");
            assert_eq!(after.hits, before.hits + 1, "runtime {run}: {after:?}");
        });
        drop(runtime);
    }
    untouched(shared());
}

/// Recovery runs on the cache's own runtime: the breaker closes after the server is back
/// even though the runtime whose calls opened it has ended, and no call asks.
#[test]
fn recovery_outlives_the_runtime_that_started_it() {
    let mut server = RedisServer::start();
    let cache = fast_failing(server.url())
        .failure_threshold(1)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        connected(&cache).await;
    });
    server.stop();
    runtime.block_on(async {
        assert!(cache.get("k").await.is_err());
    });
    assert_ne!(cache.health().state, BreakerState::Closed);
    drop(runtime);
    server.restart();
    let deadline = std::time::Instant::now() + RECOVERY;
    while cache.health().state != BreakerState::Closed {
        assert!(
            std::time::Instant::now() < deadline,
            "the breaker closed within {RECOVERY:?} with no runtime of the caller's: {:?}",
            cache.health()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
