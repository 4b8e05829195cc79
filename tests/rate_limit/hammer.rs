//! Many tasks hammering one key, and the check that no window holds more than the limit,
//! shown to fail on a fixed-window limiter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cache_aside::{BoxFuture, Cache, CacheError, RateDecision, RateLimiter, RateLimits};

use crate::support::backend::Backend;

pub const LIMIT: u64 = 20;
pub const WINDOW: Duration = Duration::from_millis(300);
/// Five windows.
pub const RUN: Duration = Duration::from_millis(1500);
/// Tasks per handle.
pub const TASKS: usize = 8;
/// How far from the system clock the time a store decides with may run over a window: the
/// drift between two clocks of this machine (the server's `TIME` and the test's
/// `SystemTime`, or `Instant` on memory), far less than this.
const DRIFT: Duration = Duration::from_millis(1);

/// When one allowed request was sent and when its answer came, in microseconds of the
/// system clock, which every process of this machine shares: the store decided in between.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub sent: u64,
    pub received: u64,
}

/// The microseconds of the system clock.
pub fn now_us() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    u64::try_from(since_epoch.as_micros()).expect("a sane clock")
}

/// What a hammering saw.
#[derive(Debug, Default)]
pub struct Run {
    pub allowed: Vec<Span>,
    pub refused: u64,
}

impl Run {
    pub fn merge(&mut self, other: Run) {
        self.allowed.extend(other.allowed);
        self.refused += other.refused;
    }

    /// The most allowed requests that were certainly decided within one window: those whose
    /// whole span lies in an interval shorter than `window` by the clocks' drift. Sound: a
    /// result over the limit is a real violation, whatever the latencies. Sharp while
    /// latencies are far below the window.
    pub fn most_in_any_window(&self, window: Duration) -> usize {
        let width = u64::try_from((window - DRIFT).as_micros()).expect("a short window");
        let mut spans = self.allowed.clone();
        spans.sort_by_key(|span| span.sent);
        (0..spans.len())
            .map(|first| {
                let start = spans[first].sent;
                spans[first..]
                    .iter()
                    .take_while(|span| span.sent < start + width)
                    .filter(|span| span.received < start + width)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    /// How much of the allowance the run used: the requests allowed against `limit` for
    /// each window that fits between the first allowed request and the end of the run.
    pub fn allowance_used(&self, limit: u64, window: Duration, ended: u64) -> f64 {
        let Some(first) = self.allowed.iter().map(|span| span.sent).min() else {
            return 0.0;
        };
        let windows = (ended - first) as f64 / window.as_micros() as f64;
        self.allowed.len() as f64 / (limit as f64 * windows)
    }
}

/// Sleeps until 50 ms before the system clock's next multiple of `window` (at least 100 ms
/// from now), where a fixed-window limiter would start a new window: so the run starts
/// with a burst just before a boundary, and a fixed window lets a second burst through
/// right after it. A wait for time to pass, not a synchronisation.
pub async fn just_before_a_boundary(window: Duration) {
    let period = u64::try_from(window.as_micros()).expect("a short window");
    let now = now_us();
    let mut at = (now / period + 1) * period - 50_000;
    while at < now + 100_000 {
        at += period;
    }
    tokio::time::sleep(Duration::from_micros(at - now)).await;
}

/// `tasks` tasks per limiter, each asking for `key` in a loop (a yield between asks, so that
/// a store whose answers are ready at once shares the threads) for `run`.
pub async fn hammer<C>(limiters: &[RateLimiter<C>], key: &str, tasks: usize, run: Duration) -> Run
where
    C: Cache + Clone + 'static,
{
    let end = Instant::now() + run;
    let mut handles = Vec::new();
    for limiter in limiters {
        for _ in 0..tasks {
            let (limiter, key) = (limiter.clone(), key.to_owned());
            handles.push(tokio::spawn(async move {
                let mut seen = Run::default();
                while Instant::now() < end {
                    let sent = now_us();
                    let decision = limiter.check(&key).await;
                    let received = now_us();
                    if decision.allowed {
                        seen.allowed.push(Span { sent, received });
                    } else {
                        seen.refused += 1;
                    }
                    tokio::task::yield_now().await;
                }
                seen
            }));
        }
    }
    let mut all = Run::default();
    for handle in handles {
        all.merge(handle.await.expect("a hammering task panicked"));
    }
    all
}

/// Checks a run against the limit, prints what it measured, and returns the most allowed
/// in one window.
pub fn judge(what: &str, run: &Run, ended: u64) -> usize {
    let most = run.most_in_any_window(WINDOW);
    let used = run.allowance_used(LIMIT, WINDOW, ended);
    println!(
        "{what}: {} allowed, {} refused; the most allowed in one {WINDOW:?} window: \
         {most} of {LIMIT}; allowance used: {:.0}%",
        run.allowed.len(),
        run.refused,
        used * 100.0
    );
    assert!(
        most <= LIMIT as usize,
        "{what}: {most} requests allowed within one window of {WINDOW:?}, over the limit \
         of {LIMIT}"
    );
    // Under continuous demand every window gets its allowance; a stalled machine may cost
    // a part of one or two.
    assert!(
        used >= 0.6,
        "{what}: only {:.0}% of the allowance used under continuous demand",
        used * 100.0
    );
    most
}

/// Two handles onto one store (as two processes would hold), 8 tasks each, one key, five
/// windows: never more than the limit in a window, and the allowance used.
pub async fn many_tasks_on_two_handles_never_exceed_the_limit(backend: Backend) {
    let key = backend.key("rate:hammered");
    let limiters = [
        RateLimiter::new(backend.cache.clone(), LIMIT, WINDOW),
        RateLimiter::new(backend.twin.clone(), LIMIT, WINDOW),
    ];
    just_before_a_boundary(WINDOW).await;
    let run = hammer(&limiters, &key, TASKS, RUN).await;
    judge(
        &format!("{:?}, one process", backend.kind()),
        &run,
        now_us(),
    );
    let stats = [limiters[0].stats(), limiters[1].stats()];
    assert_eq!(
        stats[0].allowed + stats[1].allowed,
        run.allowed.len() as u64,
        "every allowed request was the store's decision: {stats:?}"
    );
    assert_eq!(stats[0].failed_open + stats[1].failed_open, 0, "{stats:?}");
}

/// The check above can fail: a fixed-window limiter, hammered the same way from just before
/// a boundary, lets a second burst through right after it, and the check sees 2 × the limit
/// in one window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_catches_a_fixed_window() {
    let limiter = RateLimiter::new(Arc::new(Bare(Some(FixedWindows::default()))), LIMIT, WINDOW);
    just_before_a_boundary(WINDOW).await;
    let run = hammer(&[limiter], "fixed", TASKS, WINDOW).await;
    let most = run.most_in_any_window(WINDOW);
    println!("a fixed window: the most allowed in one {WINDOW:?} window: {most} of {LIMIT}");
    assert!(
        most > LIMIT as usize,
        "a fixed window let {most} through around a boundary; the check should see more \
         than {LIMIT}"
    );
}

/// A store that counts requests in fixed windows of the system clock: the naive limiter
/// (`INCR`, then `EXPIRE`) that the sliding window replaces.
#[derive(Default)]
pub struct FixedWindows(Arc<Mutex<HashMap<String, (u64, u64)>>>);

impl RateLimits for FixedWindows {
    fn check<'a>(
        &'a self,
        key: &'a str,
        limit: u64,
        window: Duration,
    ) -> BoxFuture<'a, Result<RateDecision, CacheError>> {
        let period = u64::try_from(window.as_micros()).expect("a short window");
        let current = now_us() / period;
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (index, count) = counts.entry(key.to_owned()).or_insert((current, 0));
        if *index != current {
            (*index, *count) = (current, 0);
        }
        let decision = if *count < limit {
            *count += 1;
            RateDecision::allow(limit - *count)
        } else {
            RateDecision::refuse(Duration::from_micros(
                ((current + 1) * period).saturating_sub(now_us()),
            ))
        };
        Box::pin(std::future::ready(Ok(decision)))
    }
}

/// A cache that stores nothing, with the rate limits `R` or none: a store for the tests of
/// the limiter alone.
pub struct Bare<R>(pub Option<R>);

impl<R: RateLimits> Cache for Bare<R> {
    async fn get(&self, _key: &str) -> Result<Option<String>, CacheError> {
        Ok(None)
    }
    async fn set(&self, _: &str, _: &str, _: Option<Duration>) -> Result<(), CacheError> {
        Ok(())
    }
    async fn delete(&self, _key: &str) -> Result<bool, CacheError> {
        Ok(false)
    }
    async fn delete_pattern(&self, _pattern: &str) -> Result<u64, CacheError> {
        Ok(0)
    }
    fn rate_limits(&self) -> Option<&dyn RateLimits> {
        self.0.as_ref().map(|limits| limits as &dyn RateLimits)
    }
}
