//! Rate limits in process memory: per key, the times of the requests allowed in its window,
//! oldest first, decided and recorded under moka's per-key compute lock, so that each check
//! is atomic like its script on Redis. The same answers as Redis, timed by this process's
//! monotonic clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::ops::compute::{CompResult, Op};
use moka::sync::Cache as Store;

use super::MemoryCache;
use crate::error::CacheError;
use crate::glob;
use crate::port::BoxFuture;
use crate::rate_limit::{self, RateDecision, RateLimits};

/// The windows of every view of one store, by full key (prefix included), bounded like its
/// entries: past the capacity, moka evicts the least valuable windows, which forgets them.
#[derive(Clone)]
pub(super) struct Windows(Store<String, Window>);

/// One key's window. The log sits behind its own lock only so that a check can change it in
/// place; checks on one key are serialised by moka's compute lock already.
#[derive(Clone)]
struct Window {
    /// When the requests in the window were allowed, oldest first: at most the limit.
    allowed: Arc<Mutex<VecDeque<Instant>>>,
    /// A window after the last allowed request, when every one of them has left it.
    expires_at: Instant,
}

/// Lets moka drop a window once its last request has left it.
struct WindowExpiry;

impl Expiry<String, Window> for WindowExpiry {
    fn expire_after_create(&self, _: &String, window: &Window, now: Instant) -> Option<Duration> {
        Some(window.expires_at.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &String,
        window: &Window,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(window.expires_at.saturating_duration_since(now))
    }
}

impl Windows {
    pub(super) fn new(capacity: u64) -> Self {
        Windows(
            Store::builder()
                .max_capacity(capacity)
                .expire_after(WindowExpiry)
                .build(),
        )
    }

    /// Allows and records one request at `full_key`, or refuses it; `limit` and `window` are
    /// valid.
    fn check(&self, full_key: &str, limit: u64, window: Duration) -> RateDecision {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let now = Instant::now();
        // Whether `at` has left the window: at least `window` ago.
        let gone = |at: &Instant| at.checked_add(window).is_some_and(|end| end <= now);
        let mut decision = None;
        self.0.entry_by_ref(full_key).and_compute_with(|current| {
            let allowed = current
                .map(|entry| entry.into_value())
                .filter(|window| window.expires_at > now)
                .map(|window| window.allowed)
                .unwrap_or_default();
            let mut log = allowed.lock().unwrap_or_else(PoisonError::into_inner);
            while log.front().is_some_and(gone) {
                log.pop_front();
            }
            if log.len() < limit {
                log.push_back(now);
                decision = Some(RateDecision::allow((limit - log.len()) as u64));
                drop(log);
                return Op::Put(Window {
                    allowed,
                    expires_at: now.checked_add(window).unwrap_or(now),
                });
            }
            // After a lower limit than before, more than `limit` may be in the window:
            // the `limit`-th newest leaves it first.
            let oldest_leaves = log
                .get(log.len() - limit)
                .and_then(|oldest| oldest.checked_add(window))
                .map_or(window, |at| at.saturating_duration_since(now));
            decision = Some(RateDecision::refuse(oldest_leaves));
            Op::Nop
        });
        // The closure always runs; the fallback only keeps this total.
        decision.unwrap_or_else(|| RateDecision::refuse(window))
    }

    /// Forgets the window at `full_key`; whether one was live there.
    pub(super) fn remove(&self, full_key: &str) -> bool {
        let now = Instant::now();
        let result = self
            .0
            .entry_by_ref(full_key)
            .and_compute_with(|current| match current {
                Some(_) => Op::Remove,
                None => Op::Nop,
            });
        matches!(result, CompResult::Removed(window) if window.value().expires_at > now)
    }

    /// Forgets the windows whose full key matches the full glob `pattern`; how many were live.
    pub(super) fn remove_matching(&self, pattern: &str) -> u64 {
        let matching: Vec<Arc<String>> = self
            .0
            .iter()
            .filter(|(key, _)| glob::matches(pattern.as_bytes(), key.as_bytes()))
            .map(|(key, _)| key)
            .collect();
        matching.iter().filter(|key| self.remove(key)).count() as u64
    }

    /// Forgets every window.
    pub(super) fn clear(&self) {
        self.0.invalidate_all();
    }
}

impl RateLimits for MemoryCache {
    fn check<'a>(
        &'a self,
        key: &'a str,
        limit: u64,
        window: Duration,
    ) -> BoxFuture<'a, Result<RateDecision, CacheError>> {
        let decision = rate_limit::window_millis(limit, window).and_then(|window_ms| {
            self.view.check_key(key)?;
            let window = Duration::from_millis(window_ms);
            let decision = self.windows.check(&self.view.full_key(key), limit, window);
            Ok(match decision.retry_after {
                Some(wait) => RateDecision::refuse(rate_limit::retry_after(wait, window_ms)),
                None => decision,
            })
        });
        Box::pin(std::future::ready(decision))
    }
}
