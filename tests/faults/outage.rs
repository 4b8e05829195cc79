//! Invalidations during an outage: recorded, replayed once the server is back, and nothing
//! served from the cache before they are.
//!
//! The outage is a frozen server: unlike a killed one, it keeps its data, so the stale
//! values are still there when it comes back, and only the replay can remove them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{BreakerState, ErrorCode, LeaseToken, RedisCache, cached, invalidate};

use crate::common::{
    CALL_BOUND, OP_TIMEOUT, RECOVERY, Raw, RedisServer, connected, eventually, fast_failing, timed,
};
use crate::proxy::{Mode, Proxy};

/// The system of record behind the cache.
#[derive(Default)]
struct Db(Mutex<HashMap<u64, String>>);

impl Db {
    fn get(&self, id: u64) -> String {
        let rows = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        rows.get(&id).cloned().unwrap_or_default()
    }

    fn set(&self, id: u64, name: &str) {
        let mut rows = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        rows.insert(id, name.to_owned());
    }
}

#[cached(key = "item:{id}", cache = cache)]
async fn item(cache: &RedisCache, db: &Db, id: u64) -> String {
    db.get(id)
}

#[invalidate(key = "item:{id}", pattern = "list:{id}:*", cache = cache)]
async fn rename(cache: &RedisCache, db: &Db, id: u64, name: &str) {
    db.set(id, name);
}

/// During a freeze: an `#[invalidate]` returns within `op_timeout` (plus slack) with its
/// deletions recorded, which keep the keys they cover from the cache; a direct `delete`
/// fails with `is_queued()`; reads run the body. After the thaw the recorded
/// deletions, the key and the pattern, are replayed (the stale values, still in Redis, are
/// gone, and unrelated keys are not), and no read in between returned a stale value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidations_during_an_outage_are_replayed_before_anything_is_served() {
    let server = RedisServer::start();
    let cache = fast_failing(server.url()).prefix("inv:").build().unwrap();
    let raw = Raw::new(&server);
    let db = Arc::new(Db::default());
    for (id, name) in [(1, "one"), (2, "two"), (3, "three")] {
        db.set(id, name);
        let (cache, db, raw) = (&cache, &db, &raw);
        eventually(RECOVERY, "a value cached", || async move {
            assert_eq!(item(cache, db, id).await, name);
            raw.get(&format!("inv:item:{id}")).is_some()
        })
        .await;
    }
    for key in [
        "inv:list:1:a",
        "inv:list:1:b",
        "inv:list:2:a",
        "inv:list:10:a",
    ] {
        raw.set(key, "[]");
    }
    assert_eq!(raw.get("inv:item:1").as_deref(), Some(&br#""one""#[..]));

    server.freeze();
    timed(
        OP_TIMEOUT + CALL_BOUND,
        "an invalidation during the freeze",
        rename(&cache, &db, 1, "one, renamed"),
    )
    .await;
    let health = cache.health();
    assert!(health.pending_invalidations >= 1, "{health:?}");
    let (read, _) = timed(
        CALL_BOUND,
        "a read of the invalidated key",
        cache.get("item:1"),
    )
    .await;
    let error = read.expect_err("a key with a waiting deletion is not read");
    assert!(
        error.is_circuit_open(),
        "refused without being sent: {error}"
    );

    db.set(2, "two, renamed");
    let (deleted, _) = timed(CALL_BOUND, "a delete", cache.delete("item:2")).await;
    let error = deleted.expect_err("a delete cannot succeed during the freeze");
    assert!(error.is_queued(), "the delete was recorded: {error}");
    assert!(
        matches!(error.code(), ErrorCode::CircuitOpen | ErrorCode::Timeout),
        "{error}"
    );
    rename(&cache, &db, 3, "three, renamed").await;
    let pending = cache.health().pending_invalidations;
    assert!(pending >= 3, "{:?}", cache.health());

    // Readers of the renamed item, from now until well after the recovery.
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (cache, db, stop) = (cache.clone(), Arc::clone(&db), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut reads = 0_u64;
                while !stop.load(Ordering::SeqCst) {
                    let name = item(&cache, &db, 3).await;
                    assert_eq!(name, "three, renamed", "read {reads} served a stale value");
                    reads += 1;
                    tokio::task::yield_now().await;
                }
                reads
            })
        })
        .collect();
    assert_eq!(item(&cache, &db, 1).await, "one, renamed");
    assert_eq!(item(&cache, &db, 2).await, "two, renamed");

    let replayed_before = cache.health().replayed_invalidations;
    server.thaw();
    let cache_ref = &cache;
    eventually(RECOVERY, "the deletions replayed", || async move {
        let health = cache_ref.health();
        health.state == BreakerState::Closed && health.pending_invalidations == 0
    })
    .await;
    let health = cache.health();
    assert!(
        health.replayed_invalidations >= replayed_before + pending as u64,
        "{pending} were pending: {health:?}"
    );
    // Items 1 and 2 have not been read since: their keys are simply gone.
    assert_eq!(raw.get("inv:item:1"), None, "the renamed item 1");
    assert_eq!(raw.get("inv:item:2"), None, "the deleted item 2");
    assert_eq!(
        raw.keys("inv:list:*"),
        ["inv:list:10:a", "inv:list:2:a"],
        "the pattern list:1:* was replayed, and matched nothing else"
    );
    // Item 3 is read all along: never the stale value, and cached again after recovery.
    let (cache, db, raw) = (&cache, &db, &raw);
    eventually(RECOVERY, "item 3 cached again", || async move {
        item(cache, db, 3).await;
        raw.get("inv:item:3").is_some()
    })
    .await;
    assert_eq!(
        raw.get("inv:item:3").as_deref(),
        Some(&br#""three, renamed""#[..])
    );
    stop.store(true, Ordering::SeqCst);
    let mut reads = 0;
    for reader in readers {
        let (joined, _) = timed(CALL_BOUND * 5, "a reader finishing", reader).await;
        reads += joined.expect("no reader saw a stale value");
    }
    assert!(reads > 0);
    eprintln!("outage: {pending} deletions replayed, {reads} reads during and after");
}

/// With room for 2 waiting deletions, 5 during a freeze overflow the queue: they are folded
/// into the narrowest pattern that covers them (`ovf:k*`), and after the thaw they are gone
/// while keys outside that pattern, under the prefix or not, survive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowing_queue_folds_into_the_narrowest_patterns() {
    let server = RedisServer::start();
    let cache = fast_failing(server.url())
        .prefix("ovf:")
        .max_pending_invalidations(2)
        .build()
        .unwrap();
    let raw = Raw::new(&server);
    for key in [
        "ovf:k0",
        "ovf:k1",
        "ovf:k2",
        "ovf:k3",
        "ovf:k4",
        "ovf:other",
    ] {
        raw.set(key, "1");
    }
    raw.set("elsewhere:k1", "1");
    raw.set("ovf", "1");
    connected(&cache).await;

    server.freeze();
    overflow(&cache, 5).await;
    server.thaw();
    until_closed_and_replayed(&cache).await;
    assert_eq!(
        raw.keys("*"),
        ["elsewhere:k1", "ovf", "ovf:other"],
        "the invalidated keys are gone, nothing else"
    );
}

/// Without a prefix, a fold must not become a deletion of the whole database: 20 keys
/// invalidated with room for 5 are gone after the outage, and an unrelated key survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowing_queue_without_a_prefix_spares_unrelated_keys() {
    let server = RedisServer::start();
    let cache = fast_failing(server.url())
        .max_pending_invalidations(5)
        .build()
        .unwrap();
    let raw = Raw::new(&server);
    for id in 0..20 {
        raw.set(&format!("k{id}"), "1");
    }
    raw.set("session:1", "alive");
    connected(&cache).await;

    server.freeze();
    overflow(&cache, 20).await;
    server.thaw();
    until_closed_and_replayed(&cache).await;
    assert_eq!(
        raw.keys("*"),
        ["session:1"],
        "only the unrelated key is left"
    );
    assert_eq!(cache.health().dropped_invalidations, 0, "nothing given up");
}

/// Deletes `k0`.. during an outage and checks that the queue stayed within its room.
async fn overflow(cache: &RedisCache, keys: u32) {
    for id in 0..keys {
        let key = format!("k{id}");
        let (deleted, _) = timed(OP_TIMEOUT + CALL_BOUND, "a delete", cache.delete(&key)).await;
        let error = deleted.expect_err("a delete cannot succeed during the freeze");
        assert!(error.is_queued(), "{key}: {error}");
    }
    let health = cache.health();
    assert!(health.pending_invalidations <= 5, "{health:?}");
}

async fn until_closed_and_replayed(cache: &RedisCache) {
    eventually(RECOVERY, "the queue replayed", || async move {
        let health = cache.health();
        health.state == BreakerState::Closed && health.pending_invalidations == 0
    })
    .await;
}

/// Holds a body until the test lets it go, and tells the test when a body is waiting.
#[derive(Default)]
struct Gate {
    entered: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[cached(key = "doc:{id}", cache = cache)]
async fn gated_item(cache: &RedisCache, db: &Db, gate: &Gate, id: u64) -> String {
    let value = db.get(id);
    gate.entered.notify_one();
    gate.release.notified().await;
    value
}

#[invalidate(key = "doc:{id}", cache = cache)]
async fn rename_doc(cache: &RedisCache, db: &Db, id: u64, name: &str) {
    db.set(id, name);
}

/// A write that was on the wire when the outage began can reach the server after the
/// invalidation recorded during the outage has been replayed: here a `SET` of the old value
/// is held 2 s by the network, the breaker opens, the invalidation is recorded, and the
/// replay runs on a new connection long before the `SET` lands. Reads after the recovery
/// must still never return the old value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_delayed_in_the_network_does_not_outlive_the_replayed_invalidation() {
    const DELAY: Duration = Duration::from_secs(2);
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port()).await;
    let cache = fast_failing(proxy.url()).prefix("late:").build().unwrap();
    let raw = Raw::new(&server);
    let db = Arc::new(Db::default());
    let gate = Arc::new(Gate::default());
    db.set(1, "old");
    connected(&cache).await;

    // A miss: the body reads "old", then waits while the network slows down.
    let reader = tokio::spawn({
        let (cache, db, gate) = (cache.clone(), Arc::clone(&db), Arc::clone(&gate));
        async move { gated_item(&cache, &db, &gate, 1).await }
    });
    timed(CALL_BOUND, "the body starting", gate.entered.notified()).await;
    proxy.set_mode(Mode::Latency(DELAY));
    gate.release.notify_one();
    // Its SET times out on our side, but is on its way to the server.
    let (joined, _) = timed(OP_TIMEOUT + CALL_BOUND, "the first read", reader).await;
    assert_eq!(joined.unwrap(), "old");
    // Two more timeouts open the breaker; the invalidation is then recorded, not sent.
    for _ in 0..2 {
        let _ = timed(OP_TIMEOUT + CALL_BOUND, "a get", cache.get("other")).await;
    }
    assert_ne!(cache.health().state, BreakerState::Closed);
    rename_doc(&cache, &db, 1, "new").await;
    assert!(cache.health().pending_invalidations >= 1);
    let outage_ended = Instant::now();
    proxy.set_mode(Mode::Pass);
    until_closed_and_replayed(&cache).await;

    // Until well after the delayed SET has landed, reads return "new".
    let gate = Gate::default();
    while outage_ended.elapsed() < DELAY * 2 {
        gate.release.notify_one();
        let name = gated_item(&cache, &db, &gate, 1).await;
        assert_eq!(
            name,
            "new",
            "a read {:?} after the outage",
            outage_ended.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await; // reads spread over a span of time
    }
    assert_ne!(raw.get("late:doc:1").as_deref(), Some(&br#""old""#[..]));
}

#[cached(key = "order:{id}:{page}", tags = ["user:{id}"], cache = cache)]
async fn orders(cache: &RedisCache, db: &Db, id: u64, page: u32) -> String {
    format!("{}#{page}", db.get(id))
}

#[invalidate(tags = ["user:{id}"], cache = cache)]
async fn place_order(cache: &RedisCache, db: &Db, id: u64, name: &str) {
    db.set(id, name);
}

/// A tag invalidation during a freeze is kept like a key's: after the thaw the entries under
/// the tag (still in Redis) are gone, an entry under another tag is not, and reads return
/// the new data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_invalidation_during_an_outage_is_replayed() {
    let server = RedisServer::start();
    let cache = fast_failing(server.url()).prefix("tag:").build().unwrap();
    let raw = Raw::new(&server);
    let db = Db::default();
    db.set(1, "v1");
    db.set(2, "w1");
    for (id, page) in [(1, 1), (1, 2), (2, 1)] {
        let (cache, db, raw) = (&cache, &db, &raw);
        eventually(RECOVERY, "a value cached", || async move {
            orders(cache, db, id, page).await;
            raw.get(&format!("tag:order:{id}:{page}")).is_some()
        })
        .await;
    }

    server.freeze();
    timed(
        OP_TIMEOUT + CALL_BOUND,
        "a tag invalidation during the freeze",
        place_order(&cache, &db, 1, "v2"),
    )
    .await;
    let health = cache.health();
    assert_eq!(health.pending_invalidations, 1, "{health:?}");
    assert_eq!(
        orders(&cache, &db, 1, 1).await,
        "v2#1",
        "the body runs meanwhile"
    );
    server.thaw();

    until_closed_and_replayed(&cache).await;
    assert!(!raw.exists("tag:order:1:1"), "replayed: page 1 is gone");
    assert!(!raw.exists("tag:order:1:2"), "replayed: page 2 is gone");
    assert!(raw.exists("tag:order:2:1"), "another tag's entry stays");
    assert_eq!(orders(&cache, &db, 1, 2).await, "v2#2");
    assert!(cache.health().replayed_invalidations >= 1);
}

/// A lease whose `SET NX` timed out on our side may still land; it is given back once
/// Redis answers, so that other callers do not wait for it to expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_whose_reply_timed_out_is_given_back() {
    const LEASE: Duration = Duration::from_secs(30);
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port()).await;
    let cache = fast_failing(proxy.url()).prefix("lost:").build().unwrap();
    let raw = Raw::new(&server);
    connected(&cache).await;

    proxy.set_mode(Mode::Latency(OP_TIMEOUT * 4));
    let leases = cache.leases().expect("RedisCache has leases");
    let token = LeaseToken::new();
    let (taken, _) = timed(
        OP_TIMEOUT + CALL_BOUND,
        "a lease",
        leases.try_lease("k", &token, LEASE, None, &[]),
    )
    .await;
    let error = taken.expect_err("the reply comes after op_timeout");
    assert!(error.is_timeout(), "{error}");
    // What `#[cached]` does when its lease attempt fails: it gives the lease back.
    leases.release("k", &token, LEASE);
    // The delayed SET NX lands, then the release sent after it on the same connection.
    let raw = &raw;
    eventually(RECOVERY, "the marker landing", || async move {
        raw.exists("lost:k")
    })
    .await;
    proxy.set_mode(Mode::Pass);
    eventually(RECOVERY, "the lease given back", || async move {
        !raw.exists("lost:k")
    })
    .await;
}
