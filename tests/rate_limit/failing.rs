//! When the store fails: a limiter allows (or, `fail_closed`, refuses) within about one
//! `op_timeout`, logs once per episode and counts; and the same for a cache without the
//! capability.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cache_aside::{Cache, RateDecision, RateLimiter, RedisCache};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::util::SubscriberInitExt;

use crate::hammer::{Bare, FixedWindows};
use crate::support::RedisServer;
use crate::support::wait::eventually;

const OP_TIMEOUT: Duration = Duration::from_millis(200);
/// Generous slack for a loaded 2-core machine: these bounds prove "did not hang".
const SLACK: Duration = Duration::from_secs(2);
const WINDOW: Duration = Duration::from_secs(60);

fn cache_for(server: &RedisServer) -> RedisCache {
    RedisCache::builder(server.url())
        .op_timeout(OP_TIMEOUT)
        .failure_threshold(3)
        .cool_down(Duration::from_millis(200))
        .build()
        .expect("a valid URL")
}

/// `check`, bounded by one `op_timeout` and the slack.
async fn bounded_check<C: Cache>(limiter: &RateLimiter<C>, key: &str) -> RateDecision {
    let started = Instant::now();
    let decision = limiter.check(key).await;
    assert!(
        started.elapsed() < OP_TIMEOUT + SLACK,
        "a check took {:?} with an op_timeout of {OP_TIMEOUT:?}",
        started.elapsed()
    );
    decision
}

/// A server that went away: checks are allowed within the deadline, counted, and logged
/// once for the episode; failing closed, they are refused with a wait of a second. When the
/// server is back the store decides again (logged once), and a new outage is a new episode.
#[tokio::test]
async fn an_unreachable_server_allows_and_logs_once_per_episode() {
    let logs = Logs::default();
    let _installed = logs.install();
    let mut server = RedisServer::start();
    let cache = cache_for(&server);
    let open = RateLimiter::new(cache.clone(), 2, WINDOW);
    let closed = RateLimiter::new(cache.clone(), 2, WINDOW).fail_closed();
    assert!(open.check("rate:k").await.allowed);
    server.stop();

    for _ in 0..5 {
        assert_eq!(bounded_check(&open, "rate:k").await, RateDecision::allow(1));
        assert_eq!(
            bounded_check(&closed, "rate:k").await,
            RateDecision::refuse(Duration::from_secs(1))
        );
    }
    let (open_stats, closed_stats) = (open.stats(), closed.stats());
    assert_eq!(
        (open_stats.allowed, open_stats.failed_open),
        (1, 5),
        "{open_stats:?}"
    );
    assert_eq!(closed_stats.failed_closed, 5, "{closed_stats:?}");
    let failed = logs.count("WARN", "rate limiter's store failed");
    assert_eq!(
        failed,
        2,
        "one line per limiter for the episode:\n{}",
        logs.all()
    );

    server.restart();
    eventually(
        Duration::from_secs(10),
        "the store deciding again",
        || async {
            open.check("rate:k").await;
            open.stats().allowed > 1
        },
    )
    .await;
    assert_eq!(
        logs.count("INFO", "store answers again"),
        1,
        "{}",
        logs.all()
    );

    server.stop();
    assert!(bounded_check(&open, "rate:k").await.allowed);
    assert_eq!(
        logs.count("WARN", "rate limiter's store failed"),
        3,
        "a new episode, a new line:\n{}",
        logs.all()
    );
}

/// A frozen server answers nothing: each check waits about one `op_timeout`, no more, and
/// then allows (or refuses); once the breaker is open, it waits for nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_costs_at_most_one_op_timeout() {
    let server = RedisServer::start();
    let cache = cache_for(&server);
    let open = RateLimiter::new(cache.clone(), 2, WINDOW);
    let closed = RateLimiter::new(cache, 2, Duration::from_millis(500)).fail_closed();
    assert!(open.check("rate:k").await.allowed);
    server.freeze();
    let started = Instant::now();
    assert!(bounded_check(&open, "rate:k").await.allowed);
    assert!(
        started.elapsed() >= OP_TIMEOUT / 2,
        "it waited for the server"
    );
    assert_eq!(
        bounded_check(&closed, "rate:k").await,
        RateDecision::refuse(Duration::from_millis(500)),
        "a second, or the window if shorter"
    );
    // The third timeout opens the breaker; then a check costs no round trip.
    assert!(bounded_check(&open, "rate:k").await.allowed);
    let started = Instant::now();
    for _ in 0..20 {
        assert!(open.check("rate:k").await.allowed);
    }
    assert!(
        started.elapsed() < OP_TIMEOUT,
        "20 checks with the breaker open took {:?}",
        started.elapsed()
    );
    server.thaw();
}

/// A cache that cannot count.
const NOTHING: Bare<FixedWindows> = Bare(None);

/// A cache without the capability: every request is allowed (or refused), counted, and
/// the missing capability logged once, as an error.
#[tokio::test]
async fn a_cache_without_the_capability_fails_open_and_says_so_once() {
    let logs = Logs::default();
    let _installed = logs.install();
    let open = RateLimiter::new(NOTHING, 1, WINDOW);
    for _ in 0..3 {
        assert_eq!(open.check("k").await, RateDecision::allow(0));
    }
    assert_eq!(open.stats().failed_open, 3);
    let closed = RateLimiter::new(&NOTHING, 1, WINDOW).fail_closed();
    assert!(!closed.check("k").await.allowed);
    assert_eq!(closed.stats().failed_closed, 1);
    assert_eq!(
        logs.count("ERROR", "no rate-limit capability"),
        2,
        "once per limiter:\n{}",
        logs.all()
    );
}

/// What a subscriber installed for this thread logged.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures what this thread logs (a current-thread runtime's tasks included) until the
    /// guard is dropped.
    fn install(&self) -> impl Drop {
        let logs = self.clone();
        tracing_subscriber::fmt()
            .with_writer(move || logs.clone())
            .with_max_level(LevelFilter::INFO)
            .with_ansi(false)
            .finish()
            .set_default()
    }

    fn all(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into()
    }

    /// The lines at `level` that say `what`.
    fn count(&self, level: &str, what: &str) -> usize {
        self.all()
            .lines()
            .filter(|line| line.contains(level) && line.contains(what))
            .count()
    }
}
