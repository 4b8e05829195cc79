//! [`RateLimiter`]: a limit and a window over a cache's [`RateLimits`](crate::RateLimits), failing open.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::capability::{self, RateDecision};
use crate::error::CacheError;
use crate::port::Cache;
use crate::shared::SharedCache;

/// How long a limiter that fails closed asks a caller to wait when the store fails (at most
/// the window): the default `cool_down` of `RedisCache`'s circuit breaker, after which its
/// probe may have found the server back.
const FAIL_CLOSED_RETRY: Duration = Duration::from_secs(1);

/// At most `limit` requests per key in any interval of length `window`, across every process
/// that shares the store: a sliding window, not a fixed one that lets 2 × `limit` through
/// across a boundary.
///
/// ```
/// use std::time::Duration;
/// use cache_aside::{MemoryCache, RateLimiter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let limiter = RateLimiter::new(MemoryCache::new(), 2, Duration::from_secs(60));
/// assert!(limiter.check("rate_limit:ada:/search").await.allowed);
/// assert_eq!(limiter.check("rate_limit:ada:/search").await.remaining, 0);
///
/// let refused = limiter.check("rate_limit:ada:/search").await;
/// assert!(!refused.allowed);
/// assert!(refused.retry_after.is_some()); // a minute, less the time since the first
/// assert!(limiter.check("rate_limit:grace:/search").await.allowed); // keys are apart
/// # }
/// ```
///
/// The cache is any handle implementing [`Cache`] whose [`Cache::rate_limits`] is `Some`:
/// `MemoryCache`, `RedisCache`, a [`SharedCache`] of either (the default type), a reference
/// or an `Arc` to one. Each check is one atomic step in the store (see [`RateLimits`](crate::RateLimits)): on
/// Redis one round trip, one script over the one key (so it runs unchanged on a cluster),
/// timed by the server's clock; in memory, one step under the key's lock. The key is a key of
/// the store, under the cache's prefix: `cache.delete(key)` forgets a key's window (to lift a
/// block by hand, say), and it expires by itself `window` after its last allowed request.
///
/// # Failing open
/// When the store fails (unreachable, a timeout, an open circuit breaker, an error reply),
/// the request is allowed: a cache outage must not take the service down with it. The
/// failure is logged once per episode (a `warn`, target `cache_aside`, and an `info` when a
/// check succeeds again) and counted in [`stats`](Self::stats). A `RedisCache` bounds each
/// check by its `op_timeout`, and once its breaker opens a check costs no round trip at all.
/// [`fail_closed`](Self::fail_closed) refuses instead. A cache without the capability fails
/// the same way, with one `error` logged.
///
/// # The algorithm
/// Exact, as the contract demands: the store keeps the time of each request allowed in the
/// window, and allows a request while fewer than `limit` are there. Nothing smaller is
/// exact, since whether a request is allowed at a later instant depends on the time of
/// each of the last `limit` allowed. A fixed window (`INCR`, then `EXPIRE`) lets
/// 2 × `limit` through across a boundary; a weighted pair of fixed windows only
/// approximates; GCRA with a burst of `limit` lets nearly 2 × `limit` through in the window
/// after a burst, and with a smaller burst a key never gets its whole allowance at once.
///
/// On Redis the times are a ring of 8-byte stamps in one string, which grows (doubling)
/// only while all of its slots are in the window, so a key's memory follows its peak
/// demand. Measured on Redis 7.0 (`MEMORY USAGE`, a full window): 152 bytes at a limit of
/// 10, 952 at 100, 8.2 KB at 1,000, 41 KB at 5,000, where a sorted-set log
/// (`ZREMRANGEBYSCORE`, `ZCARD`, `ZADD` in one script) takes 2.8 to 15.7 times as much; 696
/// bytes for 37 requests under a limit of 1,000. A check is one round trip, and about as
/// long in the server as that sorted-set script (7 to 8 µs refused, 11 to 13 µs allowed,
/// against 8 to 9 and 10 to 15). In process memory, a request in the window takes 16 bytes
/// and a check about a microsecond. The figures come from `tests/rate_limit/cost.rs`.
///
/// Clones share the counters of [`stats`](Self::stats) and the logging state.
#[derive(Clone)]
pub struct RateLimiter<C = SharedCache> {
    cache: C,
    limit: u64,
    window: Duration,
    fail_closed: bool,
    state: Arc<State>,
}

/// What a limiter has decided since it was made; see [`RateLimiter::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimiterStats {
    /// Requests the store allowed.
    pub allowed: u64,
    /// Requests the store refused: over the limit.
    pub refused: u64,
    /// Requests allowed without a check because the store failed (or has no rate-limit
    /// capability).
    pub failed_open: u64,
    /// Requests refused without a check because the store failed, by a limiter made with
    /// [`RateLimiter::fail_closed`].
    pub failed_closed: u64,
}

/// The counters and the logging state that clones of a limiter share.
#[derive(Default)]
struct State {
    allowed: AtomicU64,
    refused: AtomicU64,
    failed_open: AtomicU64,
    failed_closed: AtomicU64,
    /// Whether the store is failing: its first failure is logged, and the next check that
    /// succeeds ends the episode.
    failing: AtomicBool,
    /// Whether the missing capability was logged: it never comes back, so once is enough.
    unsupported_logged: AtomicBool,
}

impl<C: Cache> RateLimiter<C> {
    /// At most `limit` requests per key in any `window`, counted in `cache`; see the type's
    /// docs. The window is counted in whole milliseconds, rounded up.
    ///
    /// # Panics
    /// When `limit` is 0 or over [`MAX_RATE_LIMIT`](crate::MAX_RATE_LIMIT), or `window` is
    /// zero or over 100 years: a limit written in the code is then a mistake to fix. For a
    /// limit or a window read from configuration, use [`try_new`](Self::try_new).
    #[track_caller]
    pub fn new(cache: C, limit: u64, window: Duration) -> Self {
        match Self::try_new(cache, limit, window) {
            Ok(limiter) => limiter,
            Err(error) => panic!("RateLimiter::new: {error}"),
        }
    }

    /// As [`new`](Self::new), for a limit or a window that may be invalid.
    ///
    /// # Errors
    /// An [`ErrorCode::Config`](crate::ErrorCode::Config) error saying what is wrong when
    /// `limit` is 0 or over [`MAX_RATE_LIMIT`](crate::MAX_RATE_LIMIT), or `window` is zero or
    /// over 100 years.
    pub fn try_new(cache: C, limit: u64, window: Duration) -> Result<Self, CacheError> {
        let window_ms = capability::window_millis(limit, window)?;
        Ok(RateLimiter {
            cache,
            limit,
            window: Duration::from_millis(window_ms),
            fail_closed: false,
            state: Arc::default(),
        })
    }

    /// Refuses requests when the store fails, instead of allowing them; each such refusal
    /// asks the caller to wait a second (or the window, if shorter), when the store may
    /// answer again.
    #[must_use]
    pub fn fail_closed(mut self) -> Self {
        self.fail_closed = true;
        self
    }

    /// Asks for one request at `key`: allowed (and counted) if fewer than the limit were
    /// allowed at `key` in the window before now; see the type's docs for what happens
    /// when the store fails.
    pub async fn check(&self, key: &str) -> RateDecision {
        let Some(limits) = self.cache.rate_limits() else {
            self.log_unsupported();
            return self.without_check();
        };
        match limits.check(key, self.limit, self.window).await {
            Ok(decision) => {
                if self.state.failing.load(Ordering::Relaxed)
                    && self.state.failing.swap(false, Ordering::AcqRel)
                {
                    tracing::info!(target: "cache_aside", "the rate limiter's store answers again");
                }
                let counter = if decision.allowed {
                    &self.state.allowed
                } else {
                    &self.state.refused
                };
                counter.fetch_add(1, Ordering::Relaxed);
                decision
            }
            Err(error) => {
                self.log_failure(&error);
                self.without_check()
            }
        }
    }

    /// The most requests allowed per key in a window.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The window, in whole milliseconds.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// What this limiter (and its clones) decided so far.
    pub fn stats(&self) -> RateLimiterStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RateLimiterStats {
            allowed: read(&self.state.allowed),
            refused: read(&self.state.refused),
            failed_open: read(&self.state.failed_open),
            failed_closed: read(&self.state.failed_closed),
        }
    }

    /// The answer when the store could not decide: allowed, as in a fresh window, or, when
    /// failing closed, refused for a second at most.
    fn without_check(&self) -> RateDecision {
        if self.fail_closed {
            self.state.failed_closed.fetch_add(1, Ordering::Relaxed);
            RateDecision::refuse(FAIL_CLOSED_RETRY.min(self.window))
        } else {
            self.state.failed_open.fetch_add(1, Ordering::Relaxed);
            RateDecision::allow(self.limit - 1)
        }
    }

    fn outcome(&self) -> &'static str {
        if self.fail_closed {
            "refused"
        } else {
            "allowed"
        }
    }

    /// Logs the first failure of an episode.
    fn log_failure(&self, error: &CacheError) {
        if !self.state.failing.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                target: "cache_aside",
                code = error.code().as_str(),
                error = %error,
                "the rate limiter's store failed: requests are {} without a check until it \
                 answers again (logged once until then)",
                self.outcome()
            );
        }
    }

    fn log_unsupported(&self) {
        if !self.state.unsupported_logged.swap(true, Ordering::AcqRel) {
            tracing::error!(
                target: "cache_aside",
                "this cache has no rate-limit capability (`Cache::rate_limits` is None): every \
                 request is {} without a check. Use a MemoryCache or a RedisCache, or forward \
                 `rate_limits` in your wrapper",
                self.outcome()
            );
        }
    }
}

impl<C> std::fmt::Debug for RateLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.limit)
            .field("window", &self.window)
            .field("fail_closed", &self.fail_closed)
            .finish_non_exhaustive()
    }
}
