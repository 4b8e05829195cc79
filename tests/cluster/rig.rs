//! What the cluster fault tests share: the caches they build, their bounds, and running the
//! harness's blocking calls from a test's runtime.

use std::time::Duration;

use cache_aside::{RedisCache, RedisCacheBuilder};

pub use crate::support::cluster::RedisCluster;
pub use crate::support::wait::eventually;

/// The deadline of every cache operation: the library's default, set explicitly because
/// the figures depend on it (redis-rs's retries and the replica wait are fractions of it).
pub const OP_TIMEOUT: Duration = Duration::from_millis(250);
/// A bound on one call, on a loaded 2-core machine: it proves "did not hang", since a call
/// waits about one `op_timeout` for the cache in all.
pub const CALL_BOUND: Duration = Duration::from_secs(2);
/// How long the cache may take to serve again once the cluster has settled: a cool-down, a
/// probe, redis-rs learning the new slot map, with lots of slack.
pub const RECOVERY: Duration = Duration::from_secs(10);
/// The first tier's bounds: large enough that only Redis's pushes (or a cleared tier) can
/// take an entry out during a test.
const TIER_ENTRIES: u64 = 10_000;
const TIER_MAX_TTL: Duration = Duration::from_secs(60);

/// Whether a cache keeps a first tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    Off,
    On,
}

/// A cache on `cluster`, seeded with its primaries, with default settings but the deadline
/// (and the first tier when asked for).
pub fn cache(cluster: &RedisCluster, tier: Tier) -> RedisCache {
    let seeds = cluster.seeds();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let builder: RedisCacheBuilder = RedisCache::cluster_builder(&seeds).op_timeout(OP_TIMEOUT);
    let builder = match tier {
        Tier::Off => builder,
        Tier::On => builder.local_tier(TIER_ENTRIES, TIER_MAX_TTL),
    };
    builder.build().expect("a cluster cache")
}

/// Runs a blocking harness call (start, kill, wait for a failover, move a slot) without
/// stalling the load's tasks. Needs a multi-thread runtime.
pub fn blocking<T>(call: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(call)
}

/// With `RUST_LOG` set (`RUST_LOG=cache_aside=debug`), the library's logs go to stderr: what
/// failed and was kept for replay, the breaker opening, the probes.
pub fn logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
}
