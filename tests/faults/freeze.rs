//! A frozen server (SIGSTOP): it keeps its connections and its data but answers nothing.
//! Every call returns what its body returns, a `#[cached]` call costs one `op_timeout` until
//! the breaker opens and nothing after, an invalidation costs one `op_timeout` whatever its
//! targets, and caching resumes after SIGCONT. (Under 64 concurrent tasks, the cost of one
//! call in all is in `freeze_budget.rs`; what the port returns is in `tests/redis_adapter.rs`.)

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{
    BreakerState, DEFAULT_FAILURE_THRESHOLD, RedisCache, cache_put, cached, invalidate, stats_for,
};

use crate::common::{
    CALL_BOUND, COOL_DOWN, OP_TIMEOUT, OPEN_CALLS, OPEN_CALLS_BOUND, RECOVERY, RedisServer,
    counters, eventually, fast_failing, timed, until_closed,
};

/// The body's own time.
const BODY: Duration = Duration::from_millis(1);

/// How often the body ran, and how long it took in all.
#[derive(Default)]
struct Bodies {
    runs: AtomicU64,
    micros: AtomicU64,
}

impl Bodies {
    fn runs(&self) -> u64 {
        self.runs.load(Ordering::SeqCst)
    }

    fn time(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

#[cached(key = "frozen:{id}", cache = cache)]
async fn frozen(cache: &RedisCache, bodies: &Bodies, id: u64) -> u64 {
    let started = Instant::now();
    tokio::time::sleep(BODY).await;
    bodies.runs.fetch_add(1, Ordering::SeqCst);
    let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    bodies.micros.fetch_add(took, Ordering::SeqCst);
    id * 3
}

/// Calls `frozen(id)` until a call is a hit (the body did not run).
async fn until_hit(cache: &RedisCache, bodies: &Bodies, id: u64) {
    eventually(RECOVERY, "a hit", || async move {
        let runs = bodies.runs();
        assert_eq!(frozen(cache, bodies, id).await, id * 3);
        bodies.runs() == runs
    })
    .await;
}

/// While the server is frozen, a call costs at most `op_timeout` plus the body's time
/// (checked against a generous bound); once the breaker has opened, a thousand calls take
/// under two seconds in all, go round the cache without counting as errors, and are
/// rejected by the adapter. After SIGCONT the stored values are hits again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_costs_one_op_timeout_per_call_then_nothing() {
    let server = RedisServer::start();
    let cache = fast_failing(server.url()).build().unwrap();
    let bodies = Bodies::default();
    until_hit(&cache, &bodies, 1).await;

    server.freeze();
    let bound = OP_TIMEOUT + BODY + CALL_BOUND;
    let mut slowest = Duration::ZERO;
    for id in 0..u64::from(DEFAULT_FAILURE_THRESHOLD) {
        assert_eq!(
            cache.health().state,
            BreakerState::Closed,
            "open after {id} failures"
        );
        let (value, took) = timed(
            bound,
            "a call to a frozen server",
            frozen(&cache, &bodies, 1),
        )
        .await;
        assert_eq!(value, 3);
        slowest = slowest.max(took);
    }
    let health = cache.health();
    assert_ne!(
        health.state,
        BreakerState::Closed,
        "{DEFAULT_FAILURE_THRESHOLD} timeouts in a row: {health:?}"
    );
    assert_eq!(health.times_opened, 1, "{health:?}");

    let before = counters("freeze::frozen");
    let rejected_before = cache.health().rejected;
    let body_time = bodies.time();
    let started = Instant::now();
    for call in 0..OPEN_CALLS {
        let id = u64::from(call % 10);
        assert_eq!(frozen(&cache, &bodies, id).await, id * 3);
    }
    let took = started.elapsed();
    // What the calls added to their bodies' own time (a sleep of 1 ms, often 2).
    let added = took.saturating_sub(bodies.time() - body_time);
    assert!(
        added < OPEN_CALLS_BOUND,
        "{OPEN_CALLS} calls with the breaker open took {took:?}, {added:?} more than their bodies"
    );
    let after = counters("freeze::frozen");
    assert!(
        after.bypassed >= before.bypassed + u64::from(OPEN_CALLS),
        "every call went round the cache: {before:?} -> {after:?}"
    );
    assert_eq!(
        after.errors, before.errors,
        "calls that went round an open breaker are not errors"
    );
    assert_eq!(after.hits, before.hits);
    assert!(cache.health().rejected >= rejected_before + u64::from(OPEN_CALLS));

    server.thaw();
    until_closed(&cache, "the breaker closing after SIGCONT").await;
    // What was stored before the freeze is still there, and new values are stored again.
    until_hit(&cache, &bodies, 1).await;
    until_hit(&cache, &bodies, 1_000).await;
    eprintln!(
        "freeze: slowest failing call {slowest:?} (op_timeout {OP_TIMEOUT:?}, cool_down \
         {COOL_DOWN:?}), {OPEN_CALLS} calls while open added {added:?} to their bodies"
    );
}

/// A cache at `url` with the short deadline and the default breaker.
fn cache_for(url: String) -> RedisCache {
    RedisCache::builder(url)
        .op_timeout(OP_TIMEOUT)
        .build()
        .unwrap()
}

/// `[hits, misses, loads, failed, invalidations]` of `faults::freeze::{name}`, where `failed`
/// counts cache operations that failed (`errors`) or were skipped because the circuit breaker
/// had opened (`bypassed`).
fn counts(name: &str) -> [u64; 5] {
    stats_for(&format!("faults::freeze::{name}")).map_or([0; 5], |s| {
        [
            s.hits,
            s.misses,
            s.loads,
            s.errors + s.bypassed,
            s.invalidations,
        ]
    })
}

/// Runs `call` within [`CALL_BOUND`], failing the test if it takes longer.
async fn within_bound<F: std::future::Future>(what: &str, call: F) -> F::Output {
    timed(CALL_BOUND, what, call).await.0
}

#[cached(key = "frozen:{id}", cache = cache)]
async fn frozen_read(cache: &RedisCache, calls: &AtomicUsize, id: u32) -> u32 {
    calls.fetch_add(1, Ordering::SeqCst) as u32 + id
}

#[cache_put(key = "frozen:{id}", cache = cache)]
async fn frozen_write(cache: &RedisCache, id: u32) -> u32 {
    id * 10
}

#[invalidate(key = "frozen:{id}", cache = cache)]
async fn frozen_remove(cache: &RedisCache, id: u32) -> u32 {
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_every_call_returns_the_body_value() {
    let server = RedisServer::start();
    let cache = cache_for(server.url());
    let calls = AtomicUsize::new(0);
    // Connected and cached before the freeze.
    assert_eq!(frozen_read(&cache, &calls, 100).await, 100);
    assert_eq!(frozen_read(&cache, &calls, 100).await, 100);
    let before = counts("frozen_read");

    server.freeze();
    // A stored key cannot be read: the body runs and its value is returned.
    assert_eq!(
        within_bound("a read of a stored key", frozen_read(&cache, &calls, 100)).await,
        101
    );
    assert_eq!(
        within_bound("a read of a new key", frozen_read(&cache, &calls, 200)).await,
        202
    );
    assert_eq!(within_bound("a put", frozen_write(&cache, 300)).await, 3000);
    assert_eq!(
        within_bound("an invalidation", frozen_remove(&cache, 100)).await,
        100
    );
    let after = counts("frozen_read");
    assert_eq!(
        after[3] - before[3],
        2,
        "one timeout per read: no write was tried"
    );
    assert_eq!(after[2] - before[2], 2, "two loads");
    assert!(counts("frozen_write")[3] >= 1);
    assert!(counts("frozen_remove")[3] >= 1);

    server.thaw();
    // Whatever the server had queued is done once it answers a PING on a new connection.
    let _: String = redis::cmd("PING").query(&mut server.raw()).unwrap();
    let stored: Option<String> = redis::cmd("GET")
        .arg("frozen:200")
        .query(&mut server.raw())
        .unwrap();
    assert_eq!(stored, None, "a read that timed out does not try to store");
    // And caching resumes.
    let cache_ref = &cache;
    eventually(Duration::from_secs(5), "caching resuming", || async move {
        cache_ref.ping().await.is_ok()
    })
    .await;
    let calls_before = calls.load(Ordering::SeqCst);
    assert_eq!(
        frozen_read(&cache, &calls, 400).await,
        400 + calls_before as u32
    );
    assert_eq!(
        frozen_read(&cache, &calls, 400).await,
        400 + calls_before as u32
    );
    assert_eq!(calls.load(Ordering::SeqCst), calls_before + 1);
}

#[invalidate(key = "many:{id}", pattern = "many:{id}:*", key = "many:all", cache = cache)]
async fn frozen_remove_many(cache: &RedisCache, id: u32) -> u32 {
    id
}

/// The README: "every call during an outage pays one connection attempt or one
/// `op_timeout`".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_costs_an_invalidation_one_op_timeout() {
    let server = RedisServer::start();
    let cache = cache_for(server.url());
    cache.ping().await.unwrap();
    server.freeze();
    let started = Instant::now();
    assert_eq!(
        within_bound("an invalidation", frozen_remove_many(&cache, 1)).await,
        1
    );
    let took = started.elapsed();
    assert!(
        took < OP_TIMEOUT * 2,
        "an invalidation of 3 targets took {took:?} with op_timeout {OP_TIMEOUT:?}"
    );
}
