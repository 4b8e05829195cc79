//! A deletion waiting for replay keeps the keys it covers away from the cache, and nothing
//! else: one slow write does not switch caching off.

use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{BreakerState, RedisCache, cache_put, cached};

use crate::common::{OP_TIMEOUT, RECOVERY, Raw, RedisServer, connected, counters, eventually};
use crate::proxy::{Mode, Proxy};

#[cache_put(key = "profile:{id}", cache = cache)]
async fn save_profile(cache: &RedisCache, id: u64, name: &str) -> String {
    name.to_owned()
}

#[cached(key = "profile:{id}", cache = cache)]
async fn profile(cache: &RedisCache, id: u64) -> String {
    format!("loaded {id}")
}

/// A put whose `SET` is held in the network past its deadline may land later, so its key's
/// deletion is queued. The server then refuses writes for a while (`REPLICAOF`: a replica
/// answers reads and refuses writes with `READONLY`, as after a failover), so the replay
/// waits. Meanwhile that key is refused at once (counted as rejected), another key keeps
/// hitting, and the breaker stays closed; once the server takes writes again the deletion
/// is replayed and the key caches again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_write_blocks_its_key_and_nothing_else() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let proxy = Proxy::start(server.port()).await;
    let cache = RedisCache::builder(proxy.url())
        .op_timeout(OP_TIMEOUT)
        .cool_down(Duration::from_millis(300))
        // The calls that wait behind the delayed traffic below must not open the breaker.
        .failure_threshold(1000)
        .build()
        .unwrap();
    connected(&cache).await;
    assert_eq!(profile(&cache, 2).await, "loaded 2");
    assert_eq!(profile(&cache, 2).await, "loaded 2");
    let hits_before = counters("blocked::profile").hits;

    // Port 1: nothing listens, so the replica never syncs and keeps its data.
    raw.query::<()>(redis::cmd("REPLICAOF").arg("127.0.0.1").arg(1));
    proxy.set_mode(Mode::Latency(OP_TIMEOUT * 3));
    assert_eq!(save_profile(&cache, 1, "new").await, "new");
    proxy.set_mode(Mode::Pass);
    // Until the delayed traffic (the put's SET, the first replay) has drained.
    connected(&cache).await;
    let health = cache.health();
    assert!(health.pending_invalidations >= 1, "{health:?}");

    let rejected_before = cache.health().rejected;
    for _ in 0..20 {
        let blocked = cache.get("profile:1").await;
        assert!(
            blocked.as_ref().is_err_and(|error| error.is_circuit_open()),
            "the key with a waiting deletion is not read: {blocked:?}"
        );
        assert_eq!(
            cache.get("profile:2").await.unwrap().as_deref(),
            Some("\"loaded 2\""),
            "another key is read as usual"
        );
        assert_eq!(profile(&cache, 2).await, "loaded 2");
    }
    let health = cache.health();
    assert_eq!(health.state, BreakerState::Closed, "{health:?}");
    assert_eq!(health.times_opened, 0, "{health:?}");
    assert!(
        health.pending_invalidations >= 1,
        "still waiting: {health:?}"
    );
    assert!(health.rejected >= rejected_before + 20, "{health:?}");
    assert!(
        counters("blocked::profile").hits >= hits_before + 20,
        "profile 2 kept hitting"
    );

    raw.query::<()>(redis::cmd("REPLICAOF").arg("NO").arg("ONE"));
    let cache_ref = &cache;
    eventually(RECOVERY, "the deletion replayed", || async move {
        cache_ref.health().pending_invalidations == 0
    })
    .await;
    assert_eq!(cache.get("profile:1").await.unwrap(), None, "deleted");
    assert_eq!(profile(&cache, 1).await, "loaded 1");
    assert_eq!(profile(&cache, 1).await, "loaded 1");
    assert!(raw.exists("profile:1"), "cached again once replayed");
}
