//! One `Site` per annotated function: its statistics.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, Once, PoisonError};

/// Every site that has run at least once, for [`stats`].
static REGISTRY: Mutex<Vec<&'static Site>> = Mutex::new(Vec::new());

/// The counters shared by every call of one annotated function: a `static` in its body.
///
/// It names no type of the function, so it is allowed inside generic functions and
/// methods; the instantiations of a generic function share one site.
#[doc(hidden)]
pub struct Site {
    function: &'static str,
    registered: Once,
    pub(super) hits: AtomicU64,
    pub(super) misses: AtomicU64,
    pub(super) loads: AtomicU64,
    pub(super) coalesced: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) invalidations: AtomicU64,
    pub(super) bypassed: AtomicU64,
    pub(super) oversized: AtomicU64,
    pub(super) overtaken: AtomicU64,
    /// Whether a cache failure of this function was logged and no call has used the cache
    /// cleanly since: one warning per episode, not one per call.
    failing: AtomicBool,
}

impl Site {
    /// A site for `function`, its module path and name.
    pub const fn new(function: &'static str) -> Self {
        Site {
            function,
            registered: Once::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            loads: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            bypassed: AtomicU64::new(0),
            oversized: AtomicU64::new(0),
            overtaken: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        }
    }

    /// Makes the site visible to [`stats`]; after the first call this is one atomic load.
    pub(super) fn register(&'static self) {
        self.registered.call_once(|| {
            REGISTRY
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(self);
        });
    }

    /// The function's module path and name.
    /// Whether a cache failure is the first of an episode, and so to be logged.
    pub(super) fn starts_failing(&self) -> bool {
        !self.failing.swap(true, Ordering::Relaxed)
    }

    /// A call used the cache without a failure: the next failure is logged again.
    pub(super) fn used_cleanly(&self) {
        // A load first: on the hit path the flag is almost always clear already, and a store
        // would bounce its cache line between cores for nothing.
        if self.failing.load(Ordering::Relaxed) {
            self.failing.store(false, Ordering::Relaxed);
        }
    }

    pub(super) fn function(&self) -> &'static str {
        self.function
    }

    pub(super) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> FunctionStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        FunctionStats {
            function: self.function,
            hits: read(&self.hits),
            misses: read(&self.misses),
            loads: read(&self.loads),
            coalesced: read(&self.coalesced),
            errors: read(&self.errors),
            invalidations: read(&self.invalidations),
            bypassed: read(&self.bypassed),
            oversized: read(&self.oversized),
            overtaken: read(&self.overtaken),
        }
    }
}

/// The counters of one function annotated with `#[cached]`, `#[cache_put]` or
/// `#[invalidate]`, as returned by [`stats`] and [`stats_for`].
///
/// Counters only grow, from process start; they are read without locking, so a snapshot
/// taken during calls may be a few counts apart between fields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FunctionStats {
    /// The function's module path and name, as `module_path!()::name`, e.g.
    /// `"my_app::users::get_user"`. Methods are named without their type.
    pub function: &'static str,
    /// `#[cached]` calls answered from the cache. Each call with the cache in use counts
    /// once, as a hit or as a miss.
    pub hits: u64,
    /// `#[cached]` calls that found nothing usable in the cache: an absent key, a cache
    /// error, or a stored value that did not decode.
    pub misses: u64,
    /// Times the function body ran: misses that loaded, every `#[cache_put]` and
    /// `#[invalidate]` call, and calls that bypassed the cache through `condition`.
    pub loads: u64,
    /// Missing `#[cached]` calls that waited for a concurrent call with the same key and
    /// got its result instead of running the body (in-process single flight).
    pub coalesced: u64,
    /// Cache operations that failed (connection, timeout, a value that did not decode or
    /// encode) and were carried on without the cache, including invalidation targets given
    /// up because the cache was unreachable. A function logs one warning when its calls
    /// start failing, and again only after a call used the cache without a failure.
    pub errors: u64,
    /// Keys and patterns that `#[invalidate]` deleted successfully.
    pub invalidations: u64,
    /// Cache operations skipped at once because the cache's circuit breaker was open
    /// ([`Health`](crate::Health)); not counted in `errors`, and not logged per call.
    /// Deletions skipped this way are kept and replayed by the cache.
    pub bypassed: u64,
    /// Values not stored because they were longer than the cache's `max_value_size`.
    pub oversized: u64,
    /// Loaded values not stored because an invalidation or a put of their key (in this
    /// process or another) came during the load: they may predate it.
    pub overtaken: u64,
}

/// The statistics of every annotated function that has been called at least once in this
/// process, in the order of their first calls.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// #[cache_aside::cached(key = "answer", cache = cache_aside::MemoryCache::new())]
/// async fn answer() -> u32 {
///     42
/// }
///
/// answer().await;
/// let stats = cache_aside::stats();
/// let answer = stats.iter().find(|s| s.function.ends_with("::answer")).unwrap();
/// assert_eq!((answer.misses, answer.loads), (1, 1));
/// # }
/// ```
pub fn stats() -> Vec<FunctionStats> {
    REGISTRY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|site| site.snapshot())
        .collect()
}

/// The statistics of the function named `function` (`module_path!()::name`), summed over
/// every annotated function of that name; `None` if none has been called yet.
pub fn stats_for(function: &str) -> Option<FunctionStats> {
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    let mut matching = registry.iter().filter(|site| site.function == function);
    let mut total = matching.next()?.snapshot();
    for site in matching {
        let more = site.snapshot();
        total.hits += more.hits;
        total.misses += more.misses;
        total.loads += more.loads;
        total.coalesced += more.coalesced;
        total.errors += more.errors;
        total.invalidations += more.invalidations;
        total.bypassed += more.bypassed;
        total.oversized += more.oversized;
        total.overtaken += more.overtaken;
    }
    Some(total)
}
