//! What a limiter answers, on both stores: the same answers from each.

use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{ErrorCode, MAX_RATE_LIMIT, MemoryCache, RateDecision, RateLimiter};

use crate::support::backend::Backend;
use crate::support::wait::eventually;

/// A window long enough that nothing leaves it during a test.
const LONG: Duration = Duration::from_secs(600);
/// The slack on a retry-after measured across two clocks (the store's and the test's).
const DRIFT: Duration = Duration::from_millis(2);

/// The first `limit` requests are allowed, counting down `remaining`; the next ones are
/// refused with a wait of nearly the whole window, and refusals are not counted (they do
/// not lengthen the wait).
pub async fn a_burst_gets_the_limit_and_no_more(backend: Backend) {
    let limiter = RateLimiter::new(backend.cache.clone(), 5, LONG);
    let key = backend.key("burst");
    let started = Instant::now();
    for remaining in (0..5).rev() {
        assert_eq!(limiter.check(&key).await, RateDecision::allow(remaining));
    }
    let mut waits = Vec::new();
    for _ in 0..3 {
        let refused = limiter.check(&key).await;
        assert!(!refused.allowed, "{refused:?}");
        assert_eq!(refused.remaining, 0);
        let wait = refused
            .retry_after
            .expect("a refusal says how long to wait");
        assert!(
            wait <= LONG && wait + started.elapsed() + DRIFT >= LONG,
            "the first request leaves the window {LONG:?} after it was allowed: {wait:?}"
        );
        waits.push(wait);
    }
    assert!(waits.windows(2).all(|pair| pair[1] <= pair[0]), "{waits:?}");
    let stats = limiter.stats();
    assert_eq!((stats.allowed, stats.refused), (5, 3), "{stats:?}");
    assert_eq!(
        (stats.failed_open, stats.failed_closed),
        (0, 0),
        "{stats:?}"
    );
}

/// The window slides: a request is allowed again as soon as the oldest leaves it, and only
/// as many as have left. Two requests 150 ms after the first, then a refusal with a wait
/// bounded by the first's send and receipt, then one allowed once the first has left, and
/// the next refused until the other two leave.
pub async fn the_window_slides(backend: Backend) {
    let window = Duration::from_millis(300);
    let limiter = RateLimiter::new(backend.cache.clone(), 3, window);
    let key = backend.key("slides");
    let first_sent = Instant::now();
    assert!(limiter.check(&key).await.allowed);
    let first_received = Instant::now();
    tokio::time::sleep(window / 2).await;
    let later_sent = Instant::now();
    assert_eq!(limiter.check(&key).await, RateDecision::allow(1));
    assert_eq!(limiter.check(&key).await, RateDecision::allow(0));
    let later_received = Instant::now();

    let refusal_sent = Instant::now();
    let refused = limiter.check(&key).await;
    let refusal_received = Instant::now();
    let wait = refused.retry_after.expect("refused");
    // The first leaves the window `window` after the store recorded it, which was between
    // its send and its receipt; the store measured the wait between the refusal's own.
    let most = (first_received + window + DRIFT).saturating_duration_since(refusal_sent);
    let least = (first_sent + window).saturating_duration_since(refusal_received + DRIFT);
    assert!(
        least <= wait && wait <= most,
        "waits {wait:?}, between {least:?} and {most:?}"
    );

    eventually(
        Duration::from_secs(5),
        "a request allowed again",
        || async { limiter.check(&key).await.allowed },
    )
    .await;
    assert!(
        first_sent.elapsed() + DRIFT >= window,
        "allowed again {:?} after the first: before it left the window",
        first_sent.elapsed()
    );
    // The two later requests are still in the window, with the one just allowed.
    let refusal_sent = Instant::now();
    let refused = limiter.check(&key).await;
    let refusal_received = Instant::now();
    let wait = refused
        .retry_after
        .expect("the two later requests are still in the window");
    let most = (later_received + window + DRIFT).saturating_duration_since(refusal_sent);
    let least = (later_sent + window).saturating_duration_since(refusal_received + DRIFT);
    assert!(
        least <= wait && wait <= most,
        "waits {wait:?} for the later two: between {least:?} and {most:?}"
    );
}

/// A limit whose window holds thousands (on Redis, a ring too large to read whole) counts
/// like a small one: a burst of 2,000 concurrent requests is allowed, and once they have
/// left the window the next requests see it empty.
pub async fn a_large_limit_counts_like_a_small_one(backend: Backend) {
    const LIMIT: u64 = 2000;
    let window = Duration::from_millis(300);
    let limiter = RateLimiter::new(backend.cache.clone(), LIMIT, window);
    let key = backend.key("large");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (limiter, key) = (limiter.clone(), key.clone());
            tokio::spawn(async move {
                let mut allowed = 0;
                for _ in 0..LIMIT / 20 {
                    allowed += u64::from(limiter.check(&key).await.allowed);
                }
                allowed
            })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        allowed += task.await.expect("a task panicked");
    }
    assert_eq!(allowed, LIMIT, "no more than the limit was asked for");
    tokio::time::sleep(window).await;
    assert_eq!(limiter.check(&key).await, RateDecision::allow(LIMIT - 1));
    assert_eq!(limiter.check(&key).await, RateDecision::allow(LIMIT - 2));
}

/// Windows are per key, and per prefix: a view's keys are not the base cache's.
pub async fn keys_and_prefixes_are_apart(backend: Backend) {
    let limiter = RateLimiter::new(backend.cache.clone(), 1, LONG);
    let (ada, grace) = (backend.key("ada"), backend.key("grace"));
    assert!(limiter.check(&ada).await.allowed);
    assert!(!limiter.check(&ada).await.allowed);
    assert!(limiter.check(&grace).await.allowed);

    let view = match backend.adapter() {
        crate::support::backend::Adapter::Memory(cache) => {
            cache_aside::SharedCache::new(cache.with_prefix("tenant:"))
        }
        crate::support::backend::Adapter::Redis(cache) => {
            cache_aside::SharedCache::new(cache.with_prefix("tenant:"))
        }
    };
    let in_view = RateLimiter::new(view, 1, LONG);
    assert!(
        in_view.check(&ada).await.allowed,
        "another prefix, another window"
    );
    assert!(!in_view.check(&ada).await.allowed);
}

/// Two handles onto one store, sharing no in-process state (as two processes would), and
/// two limiters over one handle, share one window per key.
pub async fn handles_share_one_window(backend: Backend) {
    let key = backend.key("shared");
    let one = RateLimiter::new(backend.cache.clone(), 4, LONG);
    let other = RateLimiter::new(backend.twin.clone(), 4, LONG);
    let again = RateLimiter::new(backend.cache.clone(), 4, LONG);
    assert_eq!(one.check(&key).await, RateDecision::allow(3));
    assert_eq!(other.check(&key).await, RateDecision::allow(2));
    assert_eq!(again.check(&key).await, RateDecision::allow(1));
    assert_eq!(other.check(&key).await, RateDecision::allow(0));
    assert!(!one.check(&key).await.allowed);
    assert!(!other.check(&key).await.allowed);
}

/// A new limit on a key with a window takes effect at once, counting every request in the
/// window: a lower one refuses until enough have left it, a higher one lets more through.
pub async fn a_changed_limit_takes_effect_at_once(backend: Backend) {
    let key = backend.key("changed");
    let five = RateLimiter::new(backend.cache.clone(), 5, LONG);
    for _ in 0..4 {
        assert!(five.check(&key).await.allowed);
    }
    let three = RateLimiter::new(backend.cache.clone(), 3, LONG);
    assert!(
        !three.check(&key).await.allowed,
        "3 of the 4 are in the window"
    );
    assert_eq!(
        five.check(&key).await,
        RateDecision::allow(0),
        "the 3 newest and this one"
    );
    let ten = RateLimiter::new(backend.cache.clone(), 10, LONG);
    for remaining in (0..5).rev() {
        assert_eq!(ten.check(&key).await, RateDecision::allow(remaining));
    }
    assert!(!ten.check(&key).await.allowed);
}

/// A window is a key of the store: deleting it (to lift a block by hand) or flushing the
/// cache starts it afresh.
pub async fn delete_forgets_a_window(backend: Backend) {
    let limiter = RateLimiter::new(backend.cache.clone(), 1, LONG);
    let key = backend.key("deleted");
    assert!(limiter.check(&key).await.allowed);
    assert!(!limiter.check(&key).await.allowed);
    assert!(
        backend.cache.delete(&key).await.expect("delete"),
        "the window was a key"
    );
    assert!(limiter.check(&key).await.allowed);
    backend
        .cache
        .delete_pattern(&format!("{}:*", backend.ns))
        .await
        .expect("delete by pattern");
    assert!(limiter.check(&key).await.allowed);
    backend.cache.flush().await.expect("flush");
    assert!(limiter.check(&key).await.allowed);
    assert!(!limiter.check(&key).await.allowed);
}

/// The same scripted requests get the same answers from both stores (the wait aside,
/// which depends on the clock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_stores_give_the_same_answers() {
    let memory = Backend::memory();
    let redis = Backend::redis();
    let script = |backend: Backend| async move {
        let mut answers = Vec::new();
        for (limit, count) in [(3, 5), (5, 3), (2, 2), (4, 2)] {
            let limiter = RateLimiter::new(backend.cache.clone(), limit, LONG);
            for key in ["a", "b"] {
                for _ in 0..count {
                    let decision = limiter.check(&backend.key(key)).await;
                    answers.push((limit, key, decision.allowed, decision.remaining));
                }
            }
        }
        answers
    };
    let (on_memory, on_redis) = (script(memory).await, script(redis).await);
    assert_eq!(on_memory, on_redis);
}

/// A zero limit or window, or one out of range, is a clear error from `try_new` (for values
/// from configuration) and a panic from `new` (for values in the code).
#[test]
fn invalid_limits_and_windows_are_clear_errors() {
    let cache = MemoryCache::new();
    for (limit, window, says) in [
        (0, LONG, "allows nothing"),
        (MAX_RATE_LIMIT + 1, LONG, "over the highest"),
        (1, Duration::ZERO, "window of zero"),
        (1, Duration::MAX, "longer than 100 years"),
    ] {
        let error = RateLimiter::try_new(cache.clone(), limit, window).expect_err("invalid");
        assert_eq!(error.code(), ErrorCode::Config, "{error}");
        assert!(error.to_string().contains(says), "{error}");
    }
    let limiter = RateLimiter::try_new(cache, 1, Duration::from_micros(1500)).expect("valid");
    assert_eq!(
        limiter.window(),
        Duration::from_millis(2),
        "whole milliseconds, rounded up"
    );
    assert_eq!(limiter.limit(), 1);
}

#[test]
#[should_panic(expected = "RateLimiter::new: CACHE_CONFIG_ERROR: a rate limit of 0")]
fn new_panics_on_a_zero_limit() {
    let _ = RateLimiter::new(MemoryCache::new(), 0, LONG);
}

/// The capability itself refuses invalid arguments too, for callers that use it directly.
#[tokio::test]
async fn the_capability_refuses_invalid_arguments() {
    let cache = MemoryCache::new();
    let limits = cache.rate_limits().expect("MemoryCache has the capability");
    let error = limits.check("k", 0, LONG).await.expect_err("a zero limit");
    assert_eq!(error.code(), ErrorCode::Config);
    let error = limits
        .check("k", 1, Duration::ZERO)
        .await
        .expect_err("a zero window");
    assert_eq!(error.code(), ErrorCode::Config);
}
