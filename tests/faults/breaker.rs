//! The circuit breaker as the port shows it: when it opens, what it costs while open, what
//! does not count as a failure, and what it logs.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{
    BreakerState, CacheError, ErrorCode, RedisCache, SharedCache, cache_put, cached, invalidate,
};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::util::SubscriberInitExt;

use crate::common::{
    CALL_BOUND, COOL_DOWN, OP_TIMEOUT, OPEN_CALLS_BOUND, Raw, RedisServer, connected, counters,
    eventually, fast_failing, timed, until_closed,
};
use crate::proxy::{Mode, Proxy};

/// Long enough that no probe runs while a test looks at an open breaker.
const NO_PROBE: Duration = Duration::from_secs(60);

/// Three timeouts in a row (a black hole) open the breaker, once. While it is open every
/// operation fails at once with `CircuitOpen` and is counted as rejected, and nothing
/// reaches the network: the proxy sees no new connection and no byte. Views and a
/// `SharedCache` of the cache report the same breaker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_after_the_threshold_and_then_sends_nothing() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port()).await;
    let cache = fast_failing(proxy.url())
        .failure_threshold(3)
        .cool_down(NO_PROBE)
        .build()
        .unwrap();
    let health = cache.health();
    assert_eq!(health.state, BreakerState::Closed);
    assert_eq!(
        (
            health.consecutive_failures,
            health.times_opened,
            health.rejected
        ),
        (0, 0, 0)
    );
    connected(&cache).await;

    proxy.set_mode(Mode::BlackHole);
    for failures in 1..=3 {
        let (result, _) = timed(OP_TIMEOUT + CALL_BOUND, "a get", cache.get("k")).await;
        let error = result.expect_err("nothing answers");
        assert_eq!(error.code(), ErrorCode::Timeout, "{error}");
        let health = cache.health();
        assert_eq!(health.consecutive_failures, failures, "{health:?}");
        let expected = if failures < 3 {
            BreakerState::Closed
        } else {
            BreakerState::Open
        };
        assert_eq!(health.state, expected, "after {failures} timeouts");
    }
    assert_eq!(cache.health().times_opened, 1);

    let (accepted, received) = (proxy.accepted(), proxy.received());
    let rejected = cache.health().rejected;
    let view = cache.with_prefix("view:");
    let shared = SharedCache::new(cache.clone());
    let started = Instant::now();
    let rounds = 40;
    for _ in 0..rounds {
        let errors = [
            cache.get("k").await.unwrap_err(),
            cache.set("k", "v", None).await.unwrap_err(),
            cache.exists("k").await.unwrap_err(),
            view.ttl("k").await.unwrap_err(),
            shared.ping().await.unwrap_err(),
        ];
        for error in errors {
            assert_eq!(error.code(), ErrorCode::CircuitOpen, "{error}");
            assert!(error.is_circuit_open() && !error.is_queued(), "{error}");
        }
    }
    let took = started.elapsed();
    assert!(
        took < OPEN_CALLS_BOUND,
        "{} rejected operations took {took:?}",
        rounds * 5
    );
    let health = cache.health();
    assert_eq!(health.rejected, rejected + rounds * 5, "{health:?}");
    assert_eq!(health.times_opened, 1, "{health:?}");
    assert_eq!(view.health().state, BreakerState::Open, "a view shares it");
    assert_eq!(
        shared.health().state,
        BreakerState::Open,
        "SharedCache reports it"
    );
    assert_eq!(proxy.accepted(), accepted, "no connection while open");
    assert_eq!(proxy.received(), received, "no byte sent while open");
}

/// The failures that open the breaker must be consecutive: a success in between starts the
/// count again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_starts_the_count_again() {
    let server = RedisServer::start();
    // Longer than usual: a get after the thaw that timed out on a loaded machine would be a
    // third failure in a row.
    let op_timeout = Duration::from_millis(500);
    let cache = fast_failing(server.url())
        .op_timeout(op_timeout)
        .failure_threshold(3)
        .build()
        .unwrap();
    connected(&cache).await;
    for round in 0..2 {
        server.freeze();
        for _ in 0..2 {
            let (result, _) = timed(op_timeout + CALL_BOUND, "a get", cache.get("k")).await;
            assert!(result.unwrap_err().is_timeout());
        }
        let health = cache.health();
        assert_eq!(health.consecutive_failures, 2, "round {round}: {health:?}");
        assert_eq!(
            health.state,
            BreakerState::Closed,
            "round {round}: {health:?}"
        );
        server.thaw();
        let cache = &cache;
        eventually(
            CALL_BOUND * 5,
            "a get succeeding after SIGCONT",
            || async move { cache.get("k").await.is_ok() },
        )
        .await;
        assert_eq!(cache.health().consecutive_failures, 0, "round {round}");
    }
    assert_eq!(
        cache.health().times_opened,
        0,
        "4 failures, never 3 in a row"
    );
}

/// With a threshold of 1, errors that say nothing about the server being reachable leave the
/// breaker closed: `WRONGTYPE`, an `INCR` of text, a key or value over the limits, a zero TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_that_are_not_outages_do_not_count() {
    let server = RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .op_timeout(Duration::from_secs(5))
        .failure_threshold(1)
        .max_key_size(64)
        .max_value_size(64)
        .build()
        .unwrap();
    let raw = Raw::new(&server);
    raw.query::<i64>(redis::cmd("RPUSH").arg("list").arg("a"));
    raw.set("text", "abc");
    let errors = [
        cache.get("list").await.unwrap_err(),
        cache.increment("text", 1).await.unwrap_err(),
        cache.get(&"k".repeat(65)).await.unwrap_err(),
        cache.set("k", &"v".repeat(65), None).await.unwrap_err(),
        cache.set("k", "v", Some(Duration::ZERO)).await.unwrap_err(),
    ];
    let codes: Vec<_> = errors.iter().map(CacheError::code).collect();
    assert_eq!(
        codes,
        [
            ErrorCode::Get,
            ErrorCode::Increment,
            ErrorCode::KeyTooLarge,
            ErrorCode::ValueTooLarge,
            ErrorCode::Set
        ]
    );
    let health = cache.health();
    assert_eq!(health.state, BreakerState::Closed, "{health:?}");
    assert_eq!(health.consecutive_failures, 0, "{health:?}");
    assert_eq!(health.times_opened, 0, "{health:?}");
    cache.set("k", "v", None).await.unwrap();
}

/// A probe that fails waits another cool-down: while the proxy resets every connection,
/// the cache connects a few times in two seconds (a probe per cool-down), not in a loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_probe_waits_another_cool_down() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port()).await;
    let cool_down = Duration::from_millis(500);
    let cache = fast_failing(proxy.url())
        .cool_down(cool_down)
        .build()
        .unwrap();
    connected(&cache).await;
    proxy.set_mode(Mode::Reset);
    let cache_ref = &cache;
    eventually(CALL_BOUND * 5, "the breaker opening", || async move {
        let _ = cache_ref.get("k").await;
        cache_ref.health().state != BreakerState::Closed
    })
    .await;
    let accepted = proxy.accepted();
    let window = Duration::from_secs(2);
    tokio::time::sleep(window).await; // a span of time is what is measured here
    let attempts = proxy.accepted() - accepted;
    assert!(attempts >= 1, "no probe within {window:?}");
    // A probe connects once, and again to send its PING once more when the connection
    // breaks (redis-rs may start one more in the background): about 10 attempts in this
    // window. A probe that did not wait for the cool-down would make hundreds.
    let probes = u64::try_from(window.as_millis() / cool_down.as_millis()).unwrap() + 1;
    assert!(
        attempts <= probes * 5,
        "{attempts} connection attempts in {window:?} with a cool-down of {cool_down:?}"
    );
    assert_ne!(cache.health().state, BreakerState::Closed);
    proxy.set_mode(Mode::Pass);
    until_closed(&cache, "the breaker closing once a probe gets through").await;
    cache.get("k").await.unwrap();
}

/// While the probe waits for an answer (here from a black hole, for up to `op_timeout`),
/// the state is `HalfOpen`, and callers are still refused at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_shows_as_half_open() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port()).await;
    let op_timeout = Duration::from_secs(1);
    let cache = fast_failing(proxy.url())
        .op_timeout(op_timeout)
        .build()
        .unwrap();
    connected(&cache).await;
    proxy.set_mode(Mode::BlackHole);
    let cache_ref = &cache;
    eventually(CALL_BOUND * 10, "a probe under way", || async move {
        let started = Instant::now();
        let result = cache_ref.get("k").await;
        let half_open = cache_ref.health().state == BreakerState::HalfOpen;
        if half_open {
            let took = started.elapsed();
            assert!(result.unwrap_err().is_circuit_open());
            assert!(took < op_timeout, "a call during the probe took {took:?}");
        }
        half_open
    })
    .await;
    proxy.set_mode(Mode::Pass);
    until_closed(&cache, "the breaker closing once a probe gets through").await;
}

/// What the capturing subscriber received, as lines.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Installs a subscriber writing here, at `INFO` and above, as this thread's default: on
    /// a current-thread runtime every task of the test runs on this thread, and other tests'
    /// threads are not captured. It stays installed until the returned guard is dropped.
    pub(crate) fn install(&self) -> impl Drop {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(LevelFilter::INFO)
            .without_time()
            .finish()
            .set_default()
    }

    /// The lines logged at `level` (`"WARN"`, `"INFO"`).
    pub(crate) fn lines(&self, level: &str) -> Vec<String> {
        let buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&buffer)
            .lines()
            .filter(|line| line.trim_start().starts_with(level))
            .map(str::to_owned)
            .collect()
    }

    pub(crate) fn all(&self) -> String {
        let buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

#[cached(key = "logged:{id}", cache = cache)]
async fn logged_read(cache: &RedisCache, id: u64) -> u64 {
    id
}

#[cache_put(key = "logged:{id}", cache = cache)]
async fn logged_write(cache: &RedisCache, id: u64) -> u64 {
    id
}

#[invalidate(key = "logged:{id}", cache = cache)]
async fn logged_remove(cache: &RedisCache, id: u64) -> u64 {
    id
}

/// Opening is logged once, as a warning; the many calls that find it open log nothing,
/// whether they are port operations or `#[cached]`, `#[cache_put]` and `#[invalidate]`
/// calls that go round the cache (counted as `bypassed`, not as errors).
#[tokio::test]
async fn opening_is_logged_once_and_calls_while_open_not_at_all() {
    let captured = Captured::default();
    let _guard = captured.install();
    let mut server = RedisServer::start();
    let cache = fast_failing(server.url())
        .failure_threshold(3)
        .cool_down(NO_PROBE)
        .build()
        .unwrap();
    connected(&cache).await;
    server.stop();
    for _ in 0..3 {
        let (result, _) = timed(OP_TIMEOUT + CALL_BOUND, "a get", cache.get("k")).await;
        assert!(result.is_err());
    }
    assert_eq!(cache.health().state, BreakerState::Open);
    assert_eq!(captured.lines("WARN").len(), 1, "{}", captured.all());

    let before = [
        counters("breaker::logged_read"),
        counters("breaker::logged_write"),
        counters("breaker::logged_remove"),
    ];
    for id in 0..200 {
        let _ = cache.get("k").await;
        let _ = cache.set("k", "v", None).await;
        assert_eq!(logged_read(&cache, id).await, id);
        assert_eq!(logged_write(&cache, id).await, id);
        assert_eq!(logged_remove(&cache, id).await, id);
    }
    let after = [
        counters("breaker::logged_read"),
        counters("breaker::logged_write"),
        counters("breaker::logged_remove"),
    ];
    for (before, after) in before.iter().zip(&after) {
        assert!(after.bypassed >= before.bypassed + 200, "{after:?}");
        assert_eq!(after.errors, before.errors, "{after:?}");
    }
    let warnings = captured.lines("WARN");
    let infos = captured.lines("INFO");
    assert_eq!(
        (warnings.len(), infos.len()),
        (1, 0),
        "1000 calls while open logged:\n{}",
        captured.all()
    );
}

/// Closing is logged once, at `INFO`.
#[tokio::test]
async fn closing_is_logged_once() {
    let captured = Captured::default();
    let _guard = captured.install();
    let mut server = RedisServer::start();
    // A stopped server refuses at once; a long deadline keeps a loaded machine from timing
    // out a healthy call afterwards, which would open (and log) the breaker again.
    let cache = fast_failing(server.url())
        .op_timeout(Duration::from_secs(5))
        .failure_threshold(3)
        .cool_down(COOL_DOWN)
        .build()
        .unwrap();
    connected(&cache).await;
    server.stop();
    for _ in 0..3 {
        let _ = cache.get("k").await;
    }
    assert_ne!(cache.health().state, BreakerState::Closed);
    server.restart();
    until_closed(&cache, "the breaker closing after the restart").await;
    for _ in 0..100 {
        let _ = cache.get("k").await;
    }
    assert_eq!(
        captured.lines("INFO").len(),
        1,
        "one line for closing:\n{}",
        captured.all()
    );
    assert!(!captured.lines("WARN").is_empty(), "{}", captured.all());
}
