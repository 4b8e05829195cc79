//! What the first tier's tests share: the caches, the bounds, a look at the tier's counters and
//! at what the server was sent, and the coherence figures.

use std::collections::BTreeMap;
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{LocalTierStats, RedisCache, RedisCacheBuilder};

pub use crate::support::RedisServer;
pub use crate::support::backend::{OP_TIMEOUT, Raw, TIER_ENTRIES, TIER_MAX_TTL};
pub use crate::support::wait::{bounded, eventually, seen_within};

/// How soon after Redis acknowledged a change another instance must stop serving the old value:
/// the bound for loopback, where the push takes a few milliseconds at most.
pub const STALENESS: Duration = Duration::from_millis(200);
/// A bound on waits that are about progress, not speed (a loaded 2-core machine).
pub const LIMIT: Duration = Duration::from_secs(10);

/// A cache at `url` with the first tier on: room for every key of a test, and a `max_ttl` far
/// longer than the test, so that an entry that should have been dropped is still served.
pub fn tiered(url: impl Into<String>) -> RedisCacheBuilder {
    RedisCache::builder(url)
        .op_timeout(OP_TIMEOUT)
        .local_tier(TIER_ENTRIES, TIER_MAX_TTL)
}

/// The counters of `cache`'s first tier.
pub fn stats(cache: &RedisCache) -> LocalTierStats {
    cache
        .local_tier_stats()
        .expect("the cache was built with local_tier(..), yet local_tier_stats() is None")
}

/// `cache.get(key)`, which must succeed.
pub async fn read(cache: &RedisCache, key: &str) -> Option<String> {
    cache
        .get(key)
        .await
        .unwrap_or_else(|error| panic!("a read of {key}: {error}"))
}

/// Reads `key` through `cache` until a read is answered by the first tier (its `hits` move),
/// checking every read returns `value`: from then on the tier holds the entry, the state in
/// which a stale value could be served.
pub async fn held(cache: &RedisCache, key: &str, value: &str) {
    eventually(
        LIMIT,
        &format!("a read of {key} answered by the first tier"),
        || async move {
            let hits = stats(cache).hits;
            assert_eq!(read(cache, key).await.as_deref(), Some(value), "{key}");
            stats(cache).hits > hits
        },
    )
    .await;
}

/// Calls per command so far (`INFO commandstats`: `cmdstat_get:calls=3,...` as `get` → 3).
pub fn command_calls(raw: &Raw) -> BTreeMap<String, u64> {
    let info: String = raw.query(redis::cmd("INFO").arg("commandstats"));
    info.lines()
        .filter_map(|line| {
            let (name, fields) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = fields.split(',').find_map(|f| f.strip_prefix("calls="))?;
            Some((name.to_owned(), calls.parse().ok()?))
        })
        .collect()
}

/// Commands whose calls differ between two [`command_calls`], with their counts before and
/// after, leaving out `info` (the looks themselves) and `ping` (which a connection may send
/// on a clock of its own, to find out it is dead).
pub fn commands_sent(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> Vec<(String, u64, u64)> {
    after
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "info" | "ping"))
        .filter_map(|(name, &calls)| {
            let was = before.get(name).copied().unwrap_or(0);
            (calls != was).then(|| (name.clone(), was, calls))
        })
        .collect()
}

/// How long changes took to be seen, for the closing note's coherence figures.
#[derive(Default)]
pub struct Figures(Vec<Duration>);

impl Figures {
    pub fn record(&mut self, took: Duration) {
        self.0.push(took);
    }

    /// `n=200 median 0.41 ms p90 0.9 ms max 2.3 ms`.
    pub fn summary(&self) -> String {
        let mut sorted = self.0.clone();
        sorted.sort();
        let Some(&max) = sorted.last() else {
            return "n=0".to_owned();
        };
        let at = |quantile: f64| sorted[((sorted.len() - 1) as f64 * quantile).round() as usize];
        format!(
            "n={} median {:.3} ms p90 {:.3} ms max {:.3} ms",
            sorted.len(),
            millis(at(0.5)),
            millis(at(0.9)),
            millis(max)
        )
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
