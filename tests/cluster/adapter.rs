//! The Redis Cluster adapter beyond the shared suites (which run on a cluster too):
//! - a deletion counts as done once a replica has it (`WAIT 1`), so that an invalidation the
//!   cache acknowledged survives its primary's failover: one that no replica confirms is kept
//!   for replay, and keeps its key out of the cache meanwhile; a primary without replicas
//!   deletes without waiting;
//! - a cache outlives the runtimes that drive its cluster connection, and its first tier
//!   keeps nothing from one whose pushes stopped with its runtime;
//! - rate limits hold for keys on every primary.

use std::time::{Duration, Instant};

use crate::support::cluster::{ClusterNode, RedisCluster};
use crate::support::wait::{bounded, eventually};
use cache_aside::prelude::*;
use cache_aside::{ErrorCode, RedisCache};

const OP_TIMEOUT: Duration = Duration::from_millis(400);
const LIMIT: Duration = Duration::from_secs(20);

fn cache(cluster: &RedisCluster) -> RedisCache {
    let seeds = cluster.seeds();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    RedisCache::cluster_builder(&seeds)
        .op_timeout(OP_TIMEOUT)
        .build()
        .expect("valid seeds")
}

/// What the replica holds at `key` (it serves reads after `READONLY`).
fn on_replica(replica: &ClusterNode, key: &str) -> Option<String> {
    let mut connection = replica.raw();
    let () = redis::cmd("READONLY")
        .query(&mut connection)
        .expect("READONLY");
    redis::cmd("GET")
        .arg(key)
        .query(&mut connection)
        .expect("GET on the replica")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_no_replica_confirms_is_kept_until_one_does() {
    let cluster = RedisCluster::shared();
    let cache = cache(&cluster);
    cache.set("doomed", "old", None).await.expect("set");
    let replica = cluster.replica_of(cluster.primary_for_key("doomed"));
    eventually(LIMIT, "the replica has the value", || async {
        on_replica(replica, "doomed").as_deref() == Some("old")
    })
    .await;

    replica.freeze();
    let started = Instant::now();
    let error = bounded(LIMIT, "the delete", cache.delete("doomed"))
        .await
        .expect_err("no replica confirmed the deletion");
    let took = started.elapsed();
    assert!(error.is_queued(), "kept for replay: {error}");
    assert_eq!(error.code(), ErrorCode::Timeout, "{error}");
    assert!(took < 2 * OP_TIMEOUT, "one deadline at most: {took:?}");
    assert_eq!(cache.health().pending_invalidations, 1);
    // At once: a replica the cluster marks failed (the frozen one, a node timeout later)
    // cannot be promoted, and the replay then counts the deletion as done.
    let skipped = cache
        .get("doomed")
        .await
        .expect_err("the key skips the cache");
    assert_eq!(skipped.code(), ErrorCode::CircuitOpen, "{skipped}");
    assert_eq!(
        cluster.raw().get("doomed"),
        None,
        "the primary deleted it; a failover now would bring it back"
    );

    replica.thaw();
    eventually(LIMIT, "the deletion is replayed", || async {
        cache.health().pending_invalidations == 0
    })
    .await;
    assert_eq!(
        on_replica(replica, "doomed"),
        None,
        "the replica has it now"
    );
    assert_eq!(cache.health().replayed_invalidations, 1);
    assert_eq!(cache.get("doomed").await.expect("served again"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_without_replicas_deletes_without_waiting() {
    let cluster = RedisCluster::shared();
    let cache = cache(&cluster);
    cache.set("alone", "v", None).await.expect("set");
    let primary = cluster.primary_for_key("alone");
    let replica = cluster.replica_of(primary).id().to_owned();
    cluster.replica_of(primary).kill();
    // Only suspected (`fail?`), it may come back and be promoted: it counts until then.
    eventually(LIMIT, "the cluster marks the replica failed", || async {
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut primary.raw())
            .expect("CLUSTER NODES");
        nodes.lines().any(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            fields[0] == replica && fields[2].split(',').any(|flag| flag == "fail")
        })
    })
    .await;

    let started = Instant::now();
    assert!(
        cache.delete("alone").await.expect("deleted"),
        "it was there"
    );
    let took = started.elapsed();
    assert!(took < 2 * OP_TIMEOUT, "{took:?}");
    assert_eq!(cache.health().pending_invalidations, 0);
    assert_eq!(cluster.raw().get("alone"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_deletion_is_on_the_replica_when_it_returns() {
    let cluster = RedisCluster::shared();
    let cache = cache(&cluster);
    let keys: Vec<String> = (0..64).map(|i| format!("row:{i}")).collect();
    let entries: Vec<(&str, &str)> = keys.iter().map(|key| (key.as_str(), "v")).collect();
    cache.set_many(&entries, None).await.expect("set_many");
    for key in &keys {
        assert!(cache.delete(key).await.expect("delete"), "{key} was there");
        let replica = cluster.replica_of(cluster.primary_for_key(key));
        assert_eq!(
            on_replica(replica, key),
            None,
            "{key}: on its replica already"
        );
    }
}

#[test]
fn a_cache_outlives_the_runtimes_that_drive_its_connection() {
    let cluster = RedisCluster::shared();
    let seeds = cluster.seeds();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let cache = RedisCache::cluster_builder(&seeds)
        // Long enough that the tier still trusts its last reply when the next runtime asks.
        .op_timeout(Duration::from_secs(5))
        .local_tier(100, Duration::from_secs(600))
        .build()
        .expect("valid seeds");
    let mut raw = cluster.raw();
    for round in 0..3 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let value = round.to_string();
            assert_eq!(
                cache.get("hot").await.expect("a get from a new runtime"),
                (round > 0).then(|| format!("behind {}", round - 1)),
                "round {round}: the value written behind the cache's back, not the tier's"
            );
            cache.set("hot", &value, None).await.expect("set");
            assert_eq!(
                cache.get("hot").await.expect("get").as_deref(),
                Some(&*value)
            );
            let hits = cache.local_tier_stats().expect("a tier").hits;
            assert_eq!(
                cache.get("hot").await.expect("get").as_deref(),
                Some(&*value)
            );
            assert_eq!(
                cache.local_tier_stats().expect("a tier").hits,
                hits + 1,
                "round {round}: served from the tier"
            );
        });
        // Its cluster task, and the task forwarding its pushes, end here.
        drop(runtime);
        raw.set("hot", &format!("behind {round}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_on_every_primary() {
    let cluster = RedisCluster::shared();
    let limiter = cache_aside::RateLimiter::new(cache(&cluster), 3, Duration::from_secs(60));
    // Keys on all three primaries: each window is one key, in its own slot.
    let keys: Vec<String> = (0..12).map(|i| format!("client:{i}")).collect();
    let owners: std::collections::HashSet<u16> = keys
        .iter()
        .map(|key| cluster.primary_for_key(key).port())
        .collect();
    assert!(owners.len() > 1, "the keys span primaries");
    for key in &keys {
        for left in (0..3).rev() {
            let decision = limiter.check(key).await;
            assert!(decision.allowed, "{key}: within the limit");
            assert_eq!(decision.remaining, left, "{key}");
        }
        let refused = limiter.check(key).await;
        assert!(
            !refused.allowed,
            "{key}: the fourth in the window is refused"
        );
    }
    let stats = limiter.stats();
    assert_eq!(
        (stats.allowed, stats.refused, stats.failed_open),
        (36, 12, 0),
        "{stats:?}"
    );
}
