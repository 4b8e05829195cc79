//! What the fault tests share: caches tuned to fail fast, bounds on waits and the functions'
//! counters. The raw look at what a server holds ([`Raw`]) and the backends of the cases that
//! run on both stores are in `tests/support/backend.rs`.

use std::future::Future;
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{BreakerState, RedisCache, RedisCacheBuilder, stats_for};

pub use crate::support::RedisServer;
pub use crate::support::backend::Raw;
pub use crate::support::wait::eventually;

/// A short deadline, so that calls to a server that does not answer fail quickly; not so
/// short that a healthy call on a loaded machine misses it.
pub const OP_TIMEOUT: Duration = Duration::from_millis(250);
/// A short cool-down, so that recovery is quick.
pub const COOL_DOWN: Duration = Duration::from_millis(200);
/// A bound on one call that fails open: its deadline plus generous slack for a loaded 2-core
/// machine. It proves "did not hang", nothing about speed.
pub const CALL_BOUND: Duration = Duration::from_secs(2);
/// Calls made while the breaker is open, and the bound on all of them together: under 2 ms
/// a call even on a loaded machine, where a call that went to the network would cost at
/// least a connection attempt or an `op_timeout`.
pub const OPEN_CALLS: u32 = 1000;
pub const OPEN_CALLS_BOUND: Duration = Duration::from_secs(2);
/// How long a cache may take to come back once the server is reachable again: a cool-down,
/// a probe and a replay, with lots of slack.
pub const RECOVERY: Duration = Duration::from_secs(10);

/// A Redis cache at `url` that fails fast and recovers fast.
pub fn fast_failing(url: impl Into<String>) -> RedisCacheBuilder {
    RedisCache::builder(url)
        .op_timeout(OP_TIMEOUT)
        .cool_down(COOL_DOWN)
}

/// The counters of `faults::{name}` that these tests look at; all zero before its first call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub hits: u64,
    pub errors: u64,
    pub bypassed: u64,
    pub oversized: u64,
}

pub fn counters(name: &str) -> Counters {
    stats_for(&format!("faults::{name}")).map_or_else(Counters::default, |s| Counters {
        hits: s.hits,
        errors: s.errors,
        bypassed: s.bypassed,
        oversized: s.oversized,
    })
}

/// Awaits `future`, failing the test if it takes `limit` or longer; returns its output and
/// how long it took.
pub async fn timed<F: Future>(limit: Duration, what: &str, future: F) -> (F::Output, Duration) {
    let started = Instant::now();
    let output = tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"));
    let took = started.elapsed();
    assert!(took < limit, "{what} took {took:?}, the bound is {limit:?}");
    (output, took)
}

/// Runs a blocking harness call (`stop`, `restart`) without stalling the runtime's other
/// tasks. Needs a multi-thread runtime.
pub fn blocking<T>(call: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(call)
}

/// Whether the breaker of `cache` lets operations through.
pub fn is_closed(cache: &impl Cache) -> bool {
    cache.health().state == BreakerState::Closed
}

/// Waits until `cache` answers a `PING`: connected, before a fault is injected.
pub async fn connected(cache: &impl KeyValue) {
    eventually(RECOVERY, "the cache answering PING", || async move {
        cache.ping().await.is_ok()
    })
    .await;
}

/// Waits until the breaker of `cache` has closed again.
pub async fn until_closed(cache: &impl Cache, what: &str) {
    eventually(RECOVERY, what, || async move { is_closed(cache) }).await;
}
