//! The first tier across a failover. A value is held by the tier; its primary is killed and
//! its replica promoted; the key is changed on the new primary behind the library's back:
//! from the moment the change is acknowledged the cache never returns the old value (the
//! node connection it was read through is gone, and with it the tier's contents). Then the
//! new value is held by the tier, read through the connection to the new primary, and
//! changed again: the cache returns the newer value within a push's delay, and never the
//! older one after that, so that connection tracks keys too.
//!
//! Between reads the test reads an absent key on another primary: a round trip, which keeps
//! the tier trusting its connections (it serves nothing once an `op_timeout` passed without
//! a reply), so that only coherence can keep an old value from being served.

use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{LocalTierStats, RedisCache};

use crate::rig::{RECOVERY, RedisCluster, Tier, blocking, cache, eventually, logs};
use crate::support::wait::seen_within;

const KEY: &str = "coherent:{tier}:key";
const OLD: &str = "old";
const NEW: &str = "new";
const NEWER: &str = "newer";
/// How long a change on the new primary may take to reach the tier (its push).
const PUSH_BOUND: Duration = Duration::from_secs(2);
/// Reads after the newer value was first seen, each of which must return it.
const READS_AFTER: u32 = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_tier_never_serves_a_value_changed_on_the_promoted_replica() {
    logs();
    let cluster = blocking(RedisCluster::start);
    let cache = cache(&cluster, Tier::On);
    let elsewhere = &blocking(|| absent_key_elsewhere(&cluster, KEY));
    blocking(|| cluster.raw().set(KEY, OLD));
    held(&cache, elsewhere, OLD).await;
    let clears = tier(&cache).clears;

    let victim = blocking(|| cluster.kill_primary_of(KEY));
    let failover = blocking(|| cluster.wait_for_failover(victim));
    blocking(|| cluster.raw().set(KEY, NEW));
    let changed = Instant::now();
    let cache_ref = &cache;
    eventually(
        RECOVERY,
        "the cache returning the value written after the failover",
        || async move {
            let _ = cache_ref.get(elsewhere).await;
            match cache_ref.get(KEY).await {
                Ok(Some(value)) => {
                    assert_ne!(
                        value, OLD,
                        "the old value was served after the failover and the change"
                    );
                    assert_eq!(value, NEW, "an unexpected value");
                    true
                }
                Ok(None) => panic!("{KEY} was written, yet the cache found nothing"),
                // redis-rs learning the new slot map, or the breaker cooling down.
                Err(_) => false,
            }
        },
    )
    .await;
    let new_after = changed.elapsed();
    let after_failover = tier(&cache);
    assert!(
        after_failover.clears > clears,
        "losing the killed primary's connection clears the tier: {after_failover:?}"
    );

    held(&cache, elsewhere, NEW).await;
    blocking(|| cluster.raw().set(KEY, NEWER));
    let changed = Instant::now();
    let pushed_after = seen_within(
        changed,
        PUSH_BOUND,
        "the newer value after a change on the new primary",
        || async move { read_touching(cache_ref, elsewhere, &[NEW, NEWER]).await == NEWER },
    )
    .await;
    let hits = tier(&cache).hits;
    for _ in 0..READS_AFTER {
        assert_eq!(
            read_touching(&cache, elsewhere, &[NEWER]).await,
            NEWER,
            "the older value after the newer one"
        );
    }
    let end = tier(&cache);
    assert!(
        end.hits > hits,
        "the tier serves the newer value, kept from the new primary: {end:?}"
    );
    println!(
        "first tier across a failover: failed over {failover:?} after the kill; the value \
         written after it returned {new_after:?} after the write; a change on the new primary \
         reached the tier {pushed_after:?} after its write; tier {end:?}"
    );
}

/// Reads `KEY` until a read is answered by the first tier (its hits move), checking that
/// every read returns `value`.
async fn held(cache: &RedisCache, elsewhere: &str, value: &str) {
    eventually(
        RECOVERY,
        &format!("a read of {KEY} answered by the first tier"),
        || async move {
            let hits = tier(cache).hits;
            assert_eq!(read_touching(cache, elsewhere, &[value]).await, value);
            tier(cache).hits > hits
        },
    )
    .await;
}

/// Reads `elsewhere` (a round trip), then `KEY`, which must succeed with one of `allowed`.
async fn read_touching(cache: &RedisCache, elsewhere: &str, allowed: &[&str]) -> String {
    let _ = cache.get(elsewhere).await;
    let value = cache
        .get(KEY)
        .await
        .unwrap_or_else(|error| panic!("a read of {KEY}: {error}"))
        .unwrap_or_else(|| panic!("{KEY} was written, yet the cache found nothing"));
    assert!(
        allowed.contains(&value.as_str()),
        "{KEY} read {value:?}, expected one of {allowed:?}"
    );
    value
}

/// A key no one writes, on another primary than `key`'s.
fn absent_key_elsewhere(cluster: &RedisCluster, key: &str) -> String {
    let owner = cluster.primary_for_key(key).id().to_owned();
    (0..)
        .map(|i| format!("coherent:elsewhere:{i}"))
        .find(|candidate| cluster.primary_for_key(candidate).id() != owner)
        .expect("a key on another primary")
}

fn tier(cache: &RedisCache) -> LocalTierStats {
    cache
        .local_tier_stats()
        .expect("the cache was built with a first tier")
}
