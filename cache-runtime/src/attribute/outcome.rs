//! One `#[cached]` call as a `tracing` span: its function, how it was answered, and how long
//! its load took.
//!
//! The span is `cached`, at `debug`, target `cache_aside`, with the fields `function`,
//! `outcome`, `load_seconds` (when the call ran the body) and `key` (only when `trace` is
//! enabled for `cache_aside`: keys may carry identifiers). A disabled span costs the
//! callsite's interest check and nothing else: no allocation, no field is evaluated.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::Span;
use tracing::field::Empty;

use super::fail_open::FailOpen;
use super::site::Site;

/// How a `#[cached]` call was answered: the span's `outcome`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// From the cache.
    Hit,
    /// By its own load, the cache used without a failure.
    Miss,
    /// By another call's load: a flight it joined in this process, or a value another
    /// process stored while this call waited for its lease.
    Coalesced,
    /// By its body, without the cache: `condition` was false, or the cache's breaker was
    /// open.
    Bypassed,
    /// By its own load, after a cache operation failed (an error counted in `errors`: a
    /// timeout, a refused connection, an error reply, a value that did not decode or
    /// encode).
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Coalesced => "coalesced",
            Outcome::Bypassed => "bypassed",
            Outcome::Error => "error",
        }
    }

    /// The outcome of a call that missed, from whether its own body ran and what failed.
    pub(super) fn of_miss(loaded: bool, fail: &FailOpen) -> Self {
        if !loaded {
            Outcome::Coalesced
        } else if fail.failed() {
            Outcome::Error
        } else if fail.refused() {
            Outcome::Bypassed
        } else {
            Outcome::Miss
        }
    }
}

/// The span of one call of `site`'s function on `key`.
pub(super) fn span(site: &Site, key: &str) -> Span {
    let span = tracing::debug_span!(
        target: "cache_aside",
        "cached",
        function = site.function(),
        outcome = Empty,
        load_seconds = Empty,
        key = Empty,
    );
    if !span.is_disabled()
        && !key.is_empty()
        && tracing::enabled!(target: "cache_aside", tracing::Level::TRACE)
    {
        span.record("key", key);
    }
    span
}

/// What a call returns, and how it was answered.
pub(super) struct Answer<R> {
    result: R,
    outcome: Outcome,
    load: Option<Duration>,
}

impl<R> Answer<R> {
    pub(super) fn new(result: R, outcome: Outcome, load: Option<Duration>) -> Self {
        Answer {
            result,
            outcome,
            load,
        }
    }

    /// Records the outcome in the call's span, and gives the result.
    pub(super) fn record(self, span: &Span) -> R {
        if !span.is_disabled() {
            span.record("outcome", self.outcome.as_str());
            if let Some(load) = self.load {
                span.record("load_seconds", load.as_secs_f64());
            }
        }
        self.result
    }
}

/// The body, timed: the time lands in `load` when it finishes, and in the function's load
/// times (the `metrics` feature's histogram).
pub(super) async fn timed<F: Future>(
    site: &Site,
    body: F,
    load: &mut Option<Duration>,
) -> F::Output {
    let started = Instant::now();
    let result = body.await;
    let took = started.elapsed();
    site.load_times.record(took);
    *load = Some(took);
    result
}
