//! One `Site` per annotated function: its name and its statistics.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use serde::Serialize;

use crate::metrics::{LoadTimes, Tally, names};

/// Every site that has run at least once, for [`stats`].
static REGISTRY: Mutex<Vec<&'static Site>> = Mutex::new(Vec::new());

/// The counters shared by every call of one annotated function: a `static` in its body.
///
/// It names no type of the function, so it is allowed inside generic functions and
/// methods; the instantiations of a generic function share one site.
#[doc(hidden)]
pub struct Site {
    /// `module_path!()::name`, what [`stats_for`] also answers to.
    function: &'static str,
    /// The line of the function's name, to tell two functions of one name apart.
    line: u32,
    /// The name listed by [`stats`], set when the site registers.
    name: OnceLock<Cow<'static, str>>,
    pub(super) hits: Tally,
    pub(super) misses: Tally,
    pub(super) loads: Tally,
    pub(super) coalesced: Tally,
    pub(super) errors: Tally,
    pub(super) invalidations: Tally,
    pub(super) bypassed: Tally,
    pub(super) oversized: Tally,
    pub(super) overtaken: Tally,
    pub(super) load_times: LoadTimes,
    /// Whether a cache failure of this function was logged and no call has used the cache
    /// cleanly since: one warning per episode, not one per call.
    failing: AtomicBool,
}

impl Site {
    /// A site for `function`, its module path and name.
    pub const fn new(function: &'static str) -> Self {
        Site::declared(function, 0)
    }

    /// A site for `function`, its module path and name, declared at `line`.
    pub const fn declared(function: &'static str, line: u32) -> Self {
        Site {
            function,
            line,
            name: OnceLock::new(),
            hits: Tally::new(),
            misses: Tally::new(),
            loads: Tally::new(),
            coalesced: Tally::new(),
            errors: Tally::new(),
            invalidations: Tally::new(),
            bypassed: Tally::new(),
            oversized: Tally::new(),
            overtaken: Tally::new(),
            load_times: LoadTimes::new(),
            failing: AtomicBool::new(false),
        }
    }

    /// The site of a method with a receiver, whose type `type_name` gives
    /// (`std::any::type_name::<Self>`): registered as `module::Type::name`, so that methods
    /// of one name on two types are two rows of [`stats`].
    pub fn of_type(&'static self, type_name: fn() -> &'static str) -> &'static Self {
        if self.name.get().is_none() {
            let (module, function) = self
                .function
                .rsplit_once("::")
                .unwrap_or(("", self.function));
            let name = format!("{module}::{}::{function}", type_segment(type_name()));
            self.register_as(Cow::Owned(name));
        }
        self
    }

    /// Makes the site visible to [`stats`]; after the first call this is one atomic load.
    pub(super) fn register(&'static self) {
        if self.name.get().is_none() {
            self.register_as(Cow::Borrowed(self.function));
        }
    }

    /// Registers the site under `name`, or under `name@line` when another function has it
    /// already, and its metrics with it.
    #[cold]
    fn register_as(&'static self, name: Cow<'static, str>) {
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        if self.name.get().is_some() {
            return; // registered by a concurrent first call
        }
        let taken = registry.iter().any(|site| site.name() == name);
        let name = if taken {
            Cow::Owned(format!("{name}@{}", self.line))
        } else {
            name
        };
        let name = self.name.get_or_init(|| name);
        for (tally, metric) in [
            (&self.hits, names::HITS),
            (&self.misses, names::MISSES),
            (&self.loads, names::LOADS),
            (&self.coalesced, names::COALESCED),
            (&self.errors, names::ERRORS),
            (&self.invalidations, names::INVALIDATIONS),
            (&self.bypassed, names::BYPASSED),
            (&self.oversized, names::OVERSIZED),
            (&self.overtaken, names::OVERTAKEN),
        ] {
            tally.emit_as(metric, name);
        }
        self.load_times.emit_as(name);
        registry.push(self);
    }

    /// The name [`stats`] lists: `module::name`, `module::Type::name` for a method, with
    /// `@line` when another function had that name first; `module::name` until registered.
    pub(super) fn name(&self) -> &str {
        self.name.get().map_or(self.function, |name| &**name)
    }

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

    /// The function's name, for logs and spans.
    pub(super) fn function(&self) -> &str {
        self.name()
    }

    pub(super) fn count(counter: &Tally) {
        counter.add_one();
    }

    /// Whether `function` names this site: its name in [`stats`], or its `module::name`.
    fn answers_to(&self, function: &str) -> bool {
        self.name() == function || self.function == function
    }

    fn snapshot(&'static self) -> FunctionStats {
        FunctionStats {
            function: self.name.get().map_or(self.function, |name| &**name),
            hits: self.hits.get(),
            misses: self.misses.get(),
            loads: self.loads.get(),
            coalesced: self.coalesced.get(),
            errors: self.errors.get(),
            invalidations: self.invalidations.get(),
            bypassed: self.bypassed.get(),
            oversized: self.oversized.get(),
            overtaken: self.overtaken.get(),
        }
    }
}

/// `Users` of `my_app::Users<T>` or `&my_app::Users`: the type's own name. A type that is
/// not a path (a tuple, a slice) keeps its whole name.
fn type_segment(type_name: &str) -> &str {
    let path = type_name.split('<').next().unwrap_or(type_name);
    let last = path.rsplit("::").next().unwrap_or(path);
    let identifier = last.trim_start_matches(['&', '*', ' ']);
    let identifier = identifier
        .strip_prefix("mut ")
        .or_else(|| identifier.strip_prefix("dyn "))
        .unwrap_or(identifier);
    let plain =
        !identifier.is_empty() && identifier.chars().all(|c| c.is_alphanumeric() || c == '_');
    if plain { identifier } else { type_name }
}

/// The counters of one function annotated with `#[cached]`, `#[cache_put]` or
/// `#[invalidate]`, as returned by [`stats`] and [`stats_for`].
///
/// Counters only grow, from process start; they are read without locking, so a snapshot
/// taken during calls may be a few counts apart between fields.
///
/// It serializes (`serde`) as an object of its fields, and displays as one line: the name,
/// the hits, misses and loads, then the other counters that are not zero.
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// #[cache_aside::cached(key = "shown", cache = cache_aside::MemoryCache::new())]
/// async fn shown() -> u32 {
///     7
/// }
///
/// shown().await;
/// let stats = cache_aside::stats_for(concat!(module_path!(), "::shown")).unwrap();
/// assert_eq!(stats.to_string(), format!("{}: 0 hits, 1 misses, 1 loads", stats.function));
/// let json = serde_json::to_value(&stats).unwrap();
/// assert_eq!((json["misses"].as_u64(), json["oversized"].as_u64()), (Some(1), Some(0)));
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FunctionStats {
    /// The function's name: `module_path!()::name`, e.g. `"my_app::users::get_user"`; for a
    /// method with a receiver, `module_path!()::Type::name` (`"my_app::users::Users::get"`,
    /// the type without its path or type arguments), so that `Users::get` and `Orders::get`
    /// are two rows. A method of a generic type, a trait's default method and a method of
    /// a blanket impl have one site for all their types, named after the first type that
    /// calls it.
    ///
    /// Functions without a receiver cannot be told apart by their type: two associated
    /// functions of one name in one module (or two functions in two function bodies) would
    /// get one name, so the later of them to be called first gets `@line` after it (the
    /// line of its name): `"my_app::users::find@42"`. [`stats_for`] with the plain
    /// `module_path!()::name` finds them all.
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

/// The statistics of the function named `function`, summed over every annotated function
/// that answers to it; `None` if none has been called yet.
///
/// A name that [`stats`] lists (`my_app::users::Users::get`) is that function; the plain
/// `module_path!()::name` (`my_app::users::get`) is every annotated function of that name in
/// that module: a free function, the methods of every type, and those named with `@line`.
pub fn stats_for(function: &str) -> Option<FunctionStats> {
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    let mut matching = registry.iter().filter(|site| site.answers_to(function));
    let first = matching.next()?;
    let mut total = first.snapshot();
    // Named as asked: the plain name of several functions is the name of none of them.
    if first.function == function {
        total.function = first.function;
    }
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

impl fmt::Display for FunctionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} hits, {} misses, {} loads",
            self.function, self.hits, self.misses, self.loads
        )?;
        for (count, what) in [
            (self.coalesced, "coalesced"),
            (self.errors, "errors"),
            (self.invalidations, "invalidations"),
            (self.bypassed, "bypassed"),
            (self.oversized, "oversized"),
            (self.overtaken, "overtaken"),
        ] {
            if count != 0 {
                write!(f, ", {count} {what}")?;
            }
        }
        Ok(())
    }
}
