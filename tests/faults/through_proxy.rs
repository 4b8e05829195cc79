//! The cache behind the proxy of `tests/support/proxy.rs`, in each of its modes: whatever
//! the network does, calls return the body's value within a bound, and caching comes back
//! once traffic passes again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_aside::{BreakerState, DEFAULT_FAILURE_THRESHOLD, RedisCache, RedisCacheBuilder, cached};

use crate::common::{
    CALL_BOUND, OP_TIMEOUT, OPEN_CALLS, OPEN_CALLS_BOUND, RECOVERY, RedisServer, eventually,
    fast_failing, timed, until_closed,
};
use crate::proxy::{Mode, Proxy};

#[cached(key = "proxied:{id}", cache = cache)]
async fn proxied(cache: &RedisCache, bodies: &AtomicU64, id: u64) -> u64 {
    bodies.fetch_add(1, Ordering::SeqCst);
    id + 100
}

/// A server, a proxy to it, and a cache through the proxy.
struct Rig {
    _server: RedisServer,
    proxy: Proxy,
    cache: RedisCache,
    bodies: AtomicU64,
}

impl Rig {
    async fn start(configure: impl FnOnce(String) -> RedisCacheBuilder) -> Rig {
        let server = RedisServer::start();
        let proxy = Proxy::start(server.port()).await;
        let cache = configure(proxy.url()).build().unwrap();
        Rig {
            _server: server,
            proxy,
            cache,
            bodies: AtomicU64::new(0),
        }
    }

    fn bodies(&self) -> u64 {
        self.bodies.load(Ordering::SeqCst)
    }

    /// One call of `proxied(id)`, bounded; returns whether it was a hit.
    async fn call(&self, id: u64, bound: Duration, what: &str) -> (bool, Duration) {
        let bodies = self.bodies();
        let (value, took) = timed(bound, what, proxied(&self.cache, &self.bodies, id)).await;
        assert_eq!(value, id + 100, "{what}");
        (self.bodies() == bodies, took)
    }

    /// Stores `id` through the proxy and reads it back as a hit (calling again should one
    /// call time out on a loaded machine).
    async fn prime(&self, id: u64) {
        let (hit, _) = self.call(id, CALL_BOUND, "a first call").await;
        assert!(!hit, "the first call of {id} loads");
        eventually(RECOVERY, "a hit", || async move {
            self.call(id, CALL_BOUND, "a call after the first").await.0
        })
        .await;
    }
}

/// Switches the proxy to `mode` after caching a value; checks that each call returns the
/// body's value within `op_timeout` plus slack, that the breaker opens after the threshold,
/// that calls are then fast, and that after switching back to `Pass` the value stored before
/// is a hit again, over a new connection (the old one may be dead for good).
async fn fails_open_then_recovers(mode: Mode) {
    let rig = Rig::start(fast_failing).await;
    rig.prime(1).await;

    rig.proxy.set_mode(mode);
    let what = format!("a call under {mode:?}");
    for failures in 0..DEFAULT_FAILURE_THRESHOLD {
        assert_eq!(
            rig.cache.health().state,
            BreakerState::Closed,
            "open after {failures} failures under {mode:?}"
        );
        let (hit, _) = rig.call(1, OP_TIMEOUT + CALL_BOUND, &what).await;
        assert!(!hit, "{what} cannot be a hit");
    }
    let health = rig.cache.health();
    assert_ne!(health.state, BreakerState::Closed, "{mode:?}: {health:?}");

    let started = Instant::now();
    for call in 0..OPEN_CALLS {
        let id = u64::from(call % 10);
        assert_eq!(proxied(&rig.cache, &rig.bodies, id).await, id + 100);
    }
    let took = started.elapsed();
    assert!(
        took < OPEN_CALLS_BOUND,
        "{mode:?}: {OPEN_CALLS} calls with the breaker open took {took:?}"
    );

    let accepted = rig.proxy.accepted();
    rig.proxy.set_mode(Mode::Pass);
    until_closed(&rig.cache, "the breaker closing after Pass").await;
    let rig = &rig;
    eventually(
        RECOVERY,
        "the value cached before being a hit",
        || async move { rig.call(1, CALL_BOUND, "a call after Pass").await.0 },
    )
    .await;
    assert!(
        rig.proxy.accepted() > accepted,
        "{mode:?}: recovering took a new connection"
    );
}

/// Pass: the proxy itself changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_caches_as_usual() {
    let rig = Rig::start(|url| fast_failing(url).op_timeout(Duration::from_secs(2))).await;
    rig.prime(1).await;
    rig.prime(2).await;
    assert_eq!(rig.cache.health().consecutive_failures, 0);
    assert_eq!(rig.cache.health().times_opened, 0);
}

/// Black hole: connections accepted, nothing answered, the open connection dead for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_hole_fails_open_fast_and_a_new_connection_recovers() {
    fails_open_then_recovers(Mode::BlackHole).await;
}

/// Connections reset (RST), the open one and every new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_fail_open_fast_and_caching_recovers() {
    fails_open_then_recovers(Mode::Reset).await;
}

/// Latency far above `op_timeout`: as good as a black hole, but the connection still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_above_op_timeout_fails_open_fast_and_caching_recovers() {
    fails_open_then_recovers(Mode::Latency(Duration::from_secs(1))).await;
}

/// Latency well below `op_timeout`: slower hits, but hits, and no failure counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_below_op_timeout_keeps_hits() {
    const LATENCY: Duration = Duration::from_millis(50);
    let op_timeout = Duration::from_secs(2);
    let rig = Rig::start(|url| fast_failing(url).op_timeout(op_timeout)).await;
    rig.prime(1).await;

    rig.proxy.set_mode(Mode::Latency(LATENCY));
    for _ in 0..10 {
        let (hit, took) = rig
            .call(1, op_timeout + CALL_BOUND, "a call with latency")
            .await;
        assert!(hit, "a hit through the slow link");
        assert!(
            took >= LATENCY * 2,
            "the proxy delays both ways, yet a hit took {took:?}"
        );
    }
    // A new value is stored through the slow link and read back.
    rig.prime(2).await;
    let health = rig.cache.health();
    assert_eq!(health.state, BreakerState::Closed, "{health:?}");
    assert_eq!(health.consecutive_failures, 0, "{health:?}");
    assert_eq!(health.times_opened, 0, "{health:?}");
}
