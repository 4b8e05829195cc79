//! The circuit breaker of one Redis cache: whether operations are sent at all.
//!
//! The state is a few atomics, so that the check on every operation is one load while the
//! breaker is closed and no deletion waits: the state's byte also carries a bit for "some
//! deletion waits for replay" (see [`Breaker::gate`]). Opening and closing are decided by
//! the connection (which also drops its connection and replays deletions); this only keeps
//! the state, counts and logs each transition once.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::health::BreakerState;

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;
/// The bits of the breaker's own state.
const STATE: u8 = 0b011;
/// Set while deletions wait for replay: they keep the keys they cover from the cache.
const PENDING: u8 = 0b100;

pub(super) struct Breaker {
    state: AtomicU8,
    consecutive_failures: AtomicU32,
    times_opened: AtomicU64,
    rejected: AtomicU64,
    /// Set once a probe's `PING` got an answer: deletions are sent again, so that new ones
    /// do not pile up behind the replay of the waiting ones.
    deletions_through: AtomicBool,
    threshold: u32,
    pub(super) cool_down: Duration,
}

/// Why the breaker opened, for its one log line.
pub(super) enum Why<'a> {
    /// `failures` connection failures, timeouts or passing error replies in a row; the
    /// last one.
    Failures(u32, &'a crate::CacheError),
}

impl Breaker {
    pub(super) fn new(threshold: u32, cool_down: Duration) -> Self {
        crate::metrics::breaker_created(BreakerState::Closed);
        Breaker {
            state: AtomicU8::new(CLOSED),
            consecutive_failures: AtomicU32::new(0),
            times_opened: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            deletions_through: AtomicBool::new(false),
            threshold,
            cool_down,
        }
    }

    /// Zero when the breaker is closed and no deletion waits: then every operation may be
    /// sent. Otherwise the caller asks [`admit`](Self::admit), and the waiting deletions.
    pub(super) fn gate(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// Whether the `gate` has the "deletions wait" bit.
    pub(super) fn pending_in(gate: u8) -> bool {
        gate & PENDING != 0
    }

    /// Whether an operation may be sent as far as the breaker is concerned; a refusal is
    /// counted. While a probe replays the waiting deletions, new deletions are sent too
    /// (reads and writes still are not).
    pub(super) fn admit(&self, deletion: bool) -> bool {
        if self.state.load(Ordering::Acquire) & STATE == CLOSED
            || (deletion && self.deletions_through.load(Ordering::Acquire))
        {
            return true;
        }
        self.reject();
        false
    }

    /// Counts an operation refused without being sent.
    pub(super) fn reject(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets or clears the "deletions wait" bit; under the queue's lock.
    pub(super) fn set_pending(&self, pending: bool) {
        if pending {
            self.state.fetch_or(PENDING, Ordering::AcqRel);
        } else {
            self.state.fetch_and(!PENDING, Ordering::AcqRel);
        }
    }

    /// Moves the state from `from` to `to`, keeping the "deletions wait" bit; whether it
    /// moved.
    fn shift(&self, from: impl Fn(u8) -> bool, to: u8) -> Option<u8> {
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |gate| {
                from(gate & STATE).then_some((gate & !STATE) | to)
            })
            .ok()
            .map(|gate| gate & STATE)
            .inspect(|&from| crate::metrics::breaker_moved(named(from), named(to)))
    }

    /// The probe's `PING` was answered; see [`admit`](Self::admit).
    pub(super) fn let_deletions_through(&self) {
        self.deletions_through.store(true, Ordering::Release);
    }

    /// The server answered.
    pub(super) fn succeeded(&self) {
        // A load first: on the hit path the count is almost always zero already, and a
        // store would bounce its cache line between cores for nothing.
        if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
    }

    /// A connection failure or timeout; `true` if it reached the threshold.
    pub(super) fn failed(&self) -> bool {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        failures >= self.threshold
    }

    pub(super) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures.load(Ordering::Relaxed)
    }

    /// Opens the breaker; `true` for the call that opened it (which logs it), `false` if it
    /// was open already.
    pub(super) fn open(&self, why: Why<'_>) -> bool {
        if self.shift(|state| state == CLOSED, OPEN).is_none() {
            return false;
        }
        self.times_opened.fetch_add(1, Ordering::Relaxed);
        let cool_down = self.cool_down;
        let Why::Failures(failures, error) = why;
        tracing::warn!(
            target: "cache_aside",
            failures,
            ?cool_down,
            code = error.code().as_str(),
            error = %error,
            "cache circuit breaker opened: operations skip the cache until a probe after the \
             cool-down finds the server back"
        );
        true
    }

    /// A probe starts (`true`) or failed (`false`); callers are refused either way.
    pub(super) fn probing(&self, probing: bool) {
        self.deletions_through.store(false, Ordering::Release);
        let (from, to) = if probing {
            (OPEN, HALF_OPEN)
        } else {
            (HALF_OPEN, OPEN)
        };
        let _ = self.shift(|state| state == from, to);
    }

    /// The probe found the server back and every waiting deletion replayed.
    pub(super) fn close(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.deletions_through.store(false, Ordering::Release);
        if self.shift(|state| state != CLOSED, CLOSED).is_some() {
            tracing::info!(
                target: "cache_aside",
                "cache circuit breaker closed: the server is back, caching resumes"
            );
        }
    }

    pub(super) fn state(&self) -> BreakerState {
        named(self.state.load(Ordering::Acquire) & STATE)
    }

    pub(super) fn times_opened(&self) -> u64 {
        self.times_opened.load(Ordering::Relaxed)
    }

    pub(super) fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
}

/// The state of the state bits.
fn named(state: u8) -> BreakerState {
    match state {
        CLOSED => BreakerState::Closed,
        HALF_OPEN => BreakerState::HalfOpen,
        _ => BreakerState::Open,
    }
}

impl Drop for Breaker {
    fn drop(&mut self) {
        crate::metrics::breaker_dropped(self.state());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CacheError, ErrorCode};

    #[test]
    fn opens_at_the_threshold_once_and_closes() {
        let breaker = Breaker::new(3, Duration::from_secs(1));
        let error = CacheError::new(ErrorCode::Timeout, "late");
        assert!(!breaker.failed());
        assert!(!breaker.failed());
        breaker.succeeded();
        assert!(!breaker.failed(), "a success resets the count");
        assert!(!breaker.failed());
        assert!(breaker.failed());
        assert!(breaker.open(Why::Failures(3, &error)));
        assert!(!breaker.open(Why::Failures(4, &error)), "opens once");
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.admit(false));
        assert!(!breaker.admit(true));
        breaker.probing(true);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(!breaker.admit(false), "callers wait for the probe");
        breaker.let_deletions_through();
        assert!(
            breaker.admit(true),
            "deletions go through once the server answered"
        );
        assert!(!breaker.admit(false));
        breaker.close();
        assert!(breaker.admit(false));
        assert_eq!((breaker.times_opened(), breaker.rejected()), (1, 4));
        assert_eq!(breaker.consecutive_failures(), 0);
    }

    #[test]
    fn waiting_deletions_close_the_gate_not_the_breaker() {
        let breaker = Breaker::new(1, Duration::from_secs(1));
        assert_eq!(breaker.gate(), 0);
        breaker.set_pending(true);
        assert_ne!(breaker.gate(), 0);
        assert!(Breaker::pending_in(breaker.gate()));
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.admit(false), "the breaker itself lets it through");
        let error = CacheError::new(ErrorCode::Timeout, "late");
        assert!(breaker.open(Why::Failures(1, &error)));
        assert!(Breaker::pending_in(breaker.gate()), "opening keeps the bit");
        breaker.close();
        breaker.set_pending(false);
        assert_eq!(breaker.gate(), 0);
    }
}
