//! One call's fail-open state: what went wrong with the cache, logged once, counted, and
//! whether the rest of the call may still use the cache.

use super::site::Site;
use crate::error::{CacheError, ErrorCode};
use crate::metrics::Tally;

/// What went wrong with the cache during one call.
pub(super) struct FailOpen {
    /// Whether a failure was already logged: one warning per call is enough.
    warned: bool,
    /// False once the cache could not be reached: the rest of the call skips it rather than
    /// wait for a second deadline.
    reachable: bool,
    /// Whether an error was counted in `errors`, for the call's outcome.
    failed: bool,
    /// Whether an operation was refused by an open breaker (counted in `bypassed`).
    refused: bool,
}

impl Default for FailOpen {
    fn default() -> Self {
        FailOpen {
            warned: false,
            reachable: true,
            failed: false,
            refused: false,
        }
    }
}

impl FailOpen {
    /// Whether the call has seen no cache failure.
    pub(super) fn clean(&self) -> bool {
        !self.warned && self.reachable
    }

    /// Whether the call may still send anything to the cache.
    pub(super) fn usable(&self) -> bool {
        self.reachable
    }

    /// Whether an operation of the call failed (and was counted in `errors`).
    pub(super) fn failed(&self) -> bool {
        self.failed
    }

    /// Whether an operation of the call was refused by an open breaker.
    pub(super) fn refused(&self) -> bool {
        self.refused
    }

    /// The value of `result`, or `None` with its error recorded.
    pub(super) fn keep<T>(
        &mut self,
        site: &Site,
        key: &str,
        what: &str,
        result: Result<T, CacheError>,
    ) -> Option<T> {
        result
            .inspect_err(|error| self.record(site, key, what, error))
            .ok()
    }

    /// Counts `error` and logs it, the first time in this call.
    pub(super) fn record(&mut self, site: &Site, key: &str, what: &str, error: &CacheError) {
        // A key over the limit fails the same way on every operation.
        if error.is_unavailable() || error.code() == ErrorCode::KeyTooLarge {
            self.reachable = false;
        }
        if error.is_circuit_open() {
            // Logged once when the breaker opened, not once per call.
            Site::count(&site.bypassed);
            self.refused = true;
            return;
        }
        if error.code() == ErrorCode::ValueTooLarge {
            Site::count(&site.oversized);
        } else {
            Site::count(&site.errors);
            self.failed = true;
        }
        // Once per call, and once per episode of failures of the function: a store that
        // answers every call with an error (OOM, say) while its reads succeed keeps the
        // breaker closed, and must not log a line per call.
        if !std::mem::replace(&mut self.warned, true) && site.starts_failing() {
            tracing::warn!(
                target: "cache_aside",
                function = site.function(),
                code = error.code().as_str(),
                key,
                error = %error,
                "cache {what} failed; the call goes on without the cache (logged once until a \
                 call of this function uses the cache cleanly again)"
            );
        }
    }
}

/// Counts a call once: only the first of its `count`s counts (a call is a hit or a miss,
/// however often it goes round the miss's states).
#[derive(Default)]
pub(super) struct CountOnce(bool);

impl CountOnce {
    pub(super) fn count(&mut self, counter: &Tally) {
        if !std::mem::replace(&mut self.0, true) {
            Site::count(counter);
        }
    }
}
