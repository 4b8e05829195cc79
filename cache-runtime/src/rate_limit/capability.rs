//! The rate-limit capability: what a store does for a [`RateLimiter`](crate::RateLimiter),
//! and what it answers.

use std::time::Duration;

use crate::error::{CacheError, ErrorCode};
use crate::expiry::MAX_TTL;
use crate::port::BoxFuture;

/// The highest `limit` a window takes. Each request allowed in a window is remembered (8
/// bytes on Redis, 16 in process memory) until it leaves the window, so a key under full
/// demand holds `limit` of them: 800 KB at this limit. For more, use a shorter window with
/// a proportional limit, or several limiters.
pub const MAX_RATE_LIMIT: u64 = 100_000;

/// The rate-limit capability of a cache, returned by
/// [`Cache::rate_limits`](crate::Cache::rate_limits): a sliding window per key, checked and
/// recorded in one atomic step. [`RateLimiter`](crate::RateLimiter) is how applications use
/// it.
///
/// # The contract
/// [`check`](Self::check) asks for one request at `key`, under `limit` requests per
/// `window`:
/// - it is allowed if fewer than `limit` requests were allowed at `key` in the `window`
///   before it (the half-open interval ending now), and then recorded; a refused request is
///   not recorded, so refusals never lengthen a wait;
/// - so in any interval of length `window`, at most `limit` requests are allowed at `key`,
///   and a key under continuous demand gets all of them;
/// - the decision and its record are one atomic step for every handle onto the store, in
///   every process, timed by one clock (the store's);
/// - the window is a key of the store: deleting the key (`delete`, a pattern, `flush`) forgets
///   it, and it expires by itself `window` after the last request allowed;
/// - a `limit` of zero or over [`MAX_RATE_LIMIT`], and a `window` of zero or over 100 years,
///   are [`ErrorCode::Config`] errors. The window is counted in whole milliseconds, a part
///   of one counting as one.
///
/// A limit that changes between calls on one key (a new configuration, two limiters on one
/// key) takes effect at once, counting every request still in the window: a lower limit
/// refuses until enough of them have left it.
///
/// The method is object-safe (its future is boxed), so that a wrapper forwards the capability
/// in one line.
pub trait RateLimits: Send + Sync {
    /// Allows and records one request at `key`, or refuses it; see the trait's contract.
    fn check<'a>(
        &'a self,
        key: &'a str,
        limit: u64,
        window: Duration,
    ) -> BoxFuture<'a, Result<RateDecision, CacheError>>;
}

/// What a rate limiter answers for one request: [`RateLimiter::check`](crate::RateLimiter::check)
/// and [`RateLimits::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateDecision {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// How many more requests would be allowed now: after an allowed request, the limit less
    /// those allowed in the window (this one included); 0 after a refusal.
    pub remaining: u64,
    /// `Some` when refused: how long until the oldest request in the window leaves it, when
    /// one more will be allowed (if nobody else takes it first). An HTTP service answers
    /// `429 Too Many Requests` with it, rounded up, as `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl RateDecision {
    /// An allowed request, with `remaining` more allowed now. For adapters implementing
    /// [`RateLimits`].
    pub fn allow(remaining: u64) -> Self {
        RateDecision {
            allowed: true,
            remaining,
            retry_after: None,
        }
    }

    /// A refused request, to be tried again after `retry_after`. For adapters implementing
    /// [`RateLimits`].
    pub fn refuse(retry_after: Duration) -> Self {
        RateDecision {
            allowed: false,
            remaining: 0,
            retry_after: Some(retry_after),
        }
    }
}

/// Checks a limit and a window; returns the window in whole milliseconds (rounded up), as
/// every adapter counts it.
pub(crate) fn window_millis(limit: u64, window: Duration) -> Result<u64, CacheError> {
    if limit == 0 {
        return Err(CacheError::new(
            ErrorCode::Config,
            "a rate limit of 0 requests per window allows nothing: give at least 1",
        ));
    }
    if limit > MAX_RATE_LIMIT {
        return Err(CacheError::new(
            ErrorCode::Config,
            format!(
                "a rate limit of {limit} requests per window is over the highest, \
                 {MAX_RATE_LIMIT} (every request in a window is remembered): use a shorter \
                 window with a proportional limit"
            ),
        ));
    }
    if window.is_zero() {
        return Err(CacheError::new(
            ErrorCode::Config,
            "a rate-limit window of zero is invalid: give at least 1 ms",
        ));
    }
    if window > MAX_TTL {
        return Err(CacheError::new(
            ErrorCode::Config,
            "a rate-limit window longer than 100 years is invalid",
        ));
    }
    // MAX_TTL keeps this far below u64::MAX; the fallback only keeps the conversion total.
    Ok(u64::try_from(window.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX))
}

/// How long a refused request waits, from what the store measured: at least a microsecond
/// (a refusal always asks for some wait) and at most the window (a store's clock that went
/// back must not ask for more).
pub(crate) fn retry_after(measured: Duration, window_ms: u64) -> Duration {
    measured.clamp(Duration::from_micros(1), Duration::from_millis(window_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_windows_are_checked() {
        let ms = |limit, window| window_millis(limit, window).map_err(|e| e.code());
        assert_eq!(ms(1, Duration::from_secs(1)), Ok(1000));
        assert_eq!(ms(MAX_RATE_LIMIT, Duration::from_micros(1500)), Ok(2));
        assert_eq!(ms(0, Duration::from_secs(1)), Err(ErrorCode::Config));
        assert_eq!(
            ms(MAX_RATE_LIMIT + 1, Duration::from_secs(1)),
            Err(ErrorCode::Config)
        );
        assert_eq!(ms(1, Duration::ZERO), Err(ErrorCode::Config));
        assert_eq!(ms(1, Duration::MAX), Err(ErrorCode::Config));
        assert_eq!(ms(1, MAX_TTL).map(|_| ()), Ok(()));
    }

    #[test]
    fn a_wait_is_within_the_window() {
        assert_eq!(retry_after(Duration::ZERO, 10), Duration::from_micros(1));
        assert_eq!(
            retry_after(Duration::from_secs(5), 10),
            Duration::from_millis(10)
        );
        assert_eq!(
            retry_after(Duration::from_millis(3), 10),
            Duration::from_millis(3)
        );
    }
}
