//! The counters of [`stats`](crate::stats), the load times and the circuit breakers' states,
//! also sent through the `metrics` facade with the feature `metrics`, so that an exporter
//! (Prometheus, StatsD, ...) shows them with no glue. Without the feature a [`Tally`] is a
//! plain atomic and the rest does nothing.
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | `cache_aside_hits_total`, `_misses_total`, `_loads_total`, `_coalesced_total`, `_errors_total`, `_invalidations_total`, `_bypassed_total`, `_oversized_total`, `_overtaken_total` | counter | `function` |
//! | `cache_aside_load_duration_seconds` | histogram | `function` |
//! | `cache_aside_breaker_state` | gauge | `state`: `closed`, `half_open`, `open` |
//!
//! A function's handles are registered once, at its first call, and kept in its `Site`, so
//! that counting is an atomic add and a call through the handle, never a look-up in the
//! recorder. So the recorder must be installed before the first call of an annotated
//! function: a function first called before it is not emitted.
//!
//! The breaker's gauge is a state set: for each state, how many of this process's
//! `RedisCache`s (counting a cache and its clones and views once) have their breaker in it.
//! With one cache, exactly one of the three is 1; `cache_aside_breaker_state{state="open"} >
//! 0` is the alert, and it stays right with several caches.

use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "metrics")]
use std::sync::{Once, OnceLock};
use std::time::Duration;

#[cfg(feature = "redis")]
use crate::health::BreakerState;

/// The metric names, also used to describe them to the recorder.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) mod names {
    /// `#[cached]` calls answered from the cache.
    pub(crate) const HITS: &str = "cache_aside_hits_total";
    /// `#[cached]` calls that found nothing usable in the cache.
    pub(crate) const MISSES: &str = "cache_aside_misses_total";
    /// Runs of an annotated function's body.
    pub(crate) const LOADS: &str = "cache_aside_loads_total";
    /// Missing calls answered by another call's load.
    pub(crate) const COALESCED: &str = "cache_aside_coalesced_total";
    /// Cache operations that failed and were carried on without the cache.
    pub(crate) const ERRORS: &str = "cache_aside_errors_total";
    /// Keys, patterns and tags that `#[invalidate]` deleted.
    pub(crate) const INVALIDATIONS: &str = "cache_aside_invalidations_total";
    /// Cache operations skipped because the cache's breaker was open.
    pub(crate) const BYPASSED: &str = "cache_aside_bypassed_total";
    /// Values not stored for being over the cache's `max_value_size`.
    pub(crate) const OVERSIZED: &str = "cache_aside_oversized_total";
    /// Loaded values not stored because an invalidation or a put overtook their load.
    pub(crate) const OVERTAKEN: &str = "cache_aside_overtaken_total";
    /// How long the bodies of `#[cached]` functions ran, in seconds.
    pub(crate) const LOAD_DURATION: &str = "cache_aside_load_duration_seconds";
    /// How many Redis caches have their circuit breaker in the state of the label `state`.
    pub(crate) const BREAKER_STATE: &str = "cache_aside_breaker_state";
}

/// One counter of a function's statistics, emitted as a metric once registered.
pub(crate) struct Tally {
    value: AtomicU64,
    #[cfg(feature = "metrics")]
    emitted: OnceLock<::metrics::Counter>,
}

impl Tally {
    pub(crate) const fn new() -> Self {
        Tally {
            value: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            emitted: OnceLock::new(),
        }
    }

    /// Counts one.
    pub(crate) fn add_one(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        if let Some(counter) = self.emitted.get() {
            counter.increment(1);
        }
    }

    pub(crate) fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }

    /// From now on, also counts into the recorder's counter `name` of `function`.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn emit_as(&self, name: &'static str, function: &str) {
        #[cfg(feature = "metrics")]
        {
            describe_once();
            let counter = ::metrics::counter!(
                target: "cache_aside",
                name,
                "function" => function.to_owned()
            );
            let _ = self.emitted.set(counter);
        }
    }
}

/// The load times of one function, emitted as a histogram once registered.
pub(crate) struct LoadTimes {
    #[cfg(feature = "metrics")]
    emitted: OnceLock<::metrics::Histogram>,
}

impl LoadTimes {
    pub(crate) const fn new() -> Self {
        LoadTimes {
            #[cfg(feature = "metrics")]
            emitted: OnceLock::new(),
        }
    }

    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn record(&self, load: Duration) {
        #[cfg(feature = "metrics")]
        if let Some(histogram) = self.emitted.get() {
            histogram.record(load.as_secs_f64());
        }
    }

    /// From now on, also records into the recorder's histogram of `function`.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn emit_as(&self, function: &str) {
        #[cfg(feature = "metrics")]
        {
            describe_once();
            let histogram = ::metrics::histogram!(
                target: "cache_aside",
                names::LOAD_DURATION,
                "function" => function.to_owned()
            );
            let _ = self.emitted.set(histogram);
        }
    }
}

/// A breaker came to be, in its first state.
#[cfg(feature = "redis")]
pub(crate) fn breaker_created(state: BreakerState) {
    breakers_moved(None, Some(state));
}

/// A breaker moved from one state to another.
#[cfg(feature = "redis")]
pub(crate) fn breaker_moved(from: BreakerState, to: BreakerState) {
    if from != to {
        breakers_moved(Some(from), Some(to));
    }
}

/// A breaker is gone (its cache dropped), in its last state.
#[cfg(feature = "redis")]
pub(crate) fn breaker_dropped(state: BreakerState) {
    breakers_moved(Some(state), None);
}

/// One breaker left `from` and entered `to`: the gauges of both are set to the number of
/// breakers in them. The numbers are kept here, not added to the gauges, so that a recorder
/// installed after a cache was built still gets them right from the next transition on;
/// under a lock, at a transition's rate, so that two caches' transitions cannot leave a
/// gauge set out of order.
#[cfg(feature = "redis")]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
fn breakers_moved(from: Option<BreakerState>, to: Option<BreakerState>) {
    #[cfg(feature = "metrics")]
    {
        use std::sync::{Mutex, PoisonError};
        const STATES: [BreakerState; 3] = [
            BreakerState::Closed,
            BreakerState::HalfOpen,
            BreakerState::Open,
        ];
        static BREAKERS: Mutex<[i64; 3]> = Mutex::new([0; 3]);
        describe_once();
        let mut breakers = BREAKERS.lock().unwrap_or_else(PoisonError::into_inner);
        for (state, by) in [(from, -1), (to, 1)] {
            let Some(at) = state.and_then(|state| STATES.iter().position(|s| *s == state)) else {
                continue;
            };
            breakers[at] += by;
            ::metrics::gauge!(
                target: "cache_aside",
                names::BREAKER_STATE,
                "state" => STATES[at].as_str()
            )
            .set(breakers[at] as f64);
        }
    }
}

/// Gives the recorder each metric's unit and help text, once per process.
#[cfg(feature = "metrics")]
fn describe_once() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    static DESCRIBED: Once = Once::new();
    DESCRIBED.call_once(|| {
        let counters = [
            (names::HITS, "#[cached] calls answered from the cache"),
            (
                names::MISSES,
                "#[cached] calls that found nothing usable in the cache",
            ),
            (names::LOADS, "runs of an annotated function's body"),
            (
                names::COALESCED,
                "missing #[cached] calls answered by another call's load",
            ),
            (
                names::ERRORS,
                "cache operations that failed; the calls went on without the cache",
            ),
            (
                names::INVALIDATIONS,
                "keys, patterns and tags deleted by #[invalidate]",
            ),
            (
                names::BYPASSED,
                "cache operations skipped because the circuit breaker was open",
            ),
            (
                names::OVERSIZED,
                "values not stored for being over max_value_size",
            ),
            (
                names::OVERTAKEN,
                "loaded values not stored because an invalidation overtook them",
            ),
        ];
        for (name, help) in counters {
            describe_counter!(name, Unit::Count, help);
        }
        describe_histogram!(
            names::LOAD_DURATION,
            Unit::Seconds,
            "how long the bodies of #[cached] functions ran"
        );
        describe_gauge!(
            names::BREAKER_STATE,
            Unit::Count,
            "Redis caches whose circuit breaker is in the state of the label"
        );
    });
}
