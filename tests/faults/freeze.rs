//! A frozen server (SIGSTOP): it keeps its connections and its data but answers nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_aside::{BreakerState, DEFAULT_FAILURE_THRESHOLD, RedisCache, cached};

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
