//! The conformance suite: the cases that `MemoryCache` and `RedisCache` pass, for your own
//! adapter to run (feature `conformance`).
//!
//! Each topic is a module of public case functions (one behaviour each, documented) and a
//! group function of the same name that runs all of them: [`keys_and_values`](fn@keys_and_values),
//! [`ttl`](fn@ttl), [`counters`](fn@counters), [`batches`](fn@batches),
//! [`patterns`](fn@patterns), [`leases`](fn@leases), [`tags`](fn@tags),
//! [`prefixes`](fn@prefixes) and [`limits`](fn@limits). [`run_all`] runs every group that
//! needs nothing but the cache.
//!
//! A group takes a function that makes the cache under test, and calls it once per case.
//! Each case flushes the cache first ([`KeyValue::flush`]), so the function may hand out
//! handles onto one store (a test server, say); nothing else may use that store while the
//! suite runs. A case that fails panics with a message naming it, such as
//! ``conformance case `ttl::keys_expire_after_their_ttl` failed: ...``; run that case alone
//! (`conformance::ttl::keys_expire_after_their_ttl(cache).await`, on an empty cache: a case
//! called on its own flushes nothing) to look into it.
//!
//! ```
//! use cache_aside::MemoryCache;
//!
//! // In your crate: #[tokio::test] async fn my_cache_conforms() { ... }
//! # #[tokio::main]
//! # async fn main() {
//! cache_aside::conformance::run_all(|| async { MemoryCache::new() }).await;
//! // With views under prefixes (implement `Prefixed`) and size limits:
//! cache_aside::conformance::prefixes(|| async { MemoryCache::new() }).await;
//! cache_aside::conformance::limits(|limits| async move {
//!     MemoryCache::builder()
//!         .max_key_size(limits.max_key_size)
//!         .max_value_size(limits.max_value_size)
//!         .build()
//! })
//! .await;
//! # }
//! ```
//!
//! # What a cache needs
//! Every case takes a [`KeyValue`] cache (the checks read back with `exists`, `ttl` and the
//! others) that is `Clone` and `'static`, and runs on a Tokio runtime with its timer (as in
//! `#[tokio::test]`; some cases spawn tasks, so a multi-threaded one tests more). Beyond that:
//! - the [`leases`](fn@leases) and [`tags`](fn@tags) cases need the [`Cache::leases`]
//!   capability and panic without it; [`run_all`] and [`prefixes`](fn@prefixes) skip their
//!   lease and tag cases when a cache has none (plain cache-aside is a valid adapter);
//! - [`prefixes`](fn@prefixes) needs views of one store under other prefixes: implement
//!   [`Prefixed`] (this crate does, for its adapters);
//! - [`limits`](fn@limits) needs a cache built with the size limits it is given
//!   ([`SizeLimits`]); [`limits::a_prefix_counts_toward_the_key_limit`] needs both, and is
//!   run on its own.
//!
//! [`leases::foreign_contents_are_reported`] needs a way to put something that is neither a
//! value nor a lease marker at a key (another Redis type, bytes that are not UTF-8), which
//! only a byte store has: it takes a function that does, and is run on its own too.
//!
//! The cases assert Redis's semantics, which both adapters of this crate follow: a
//! conforming adapter can replace either of them under `#[cached]` and application code.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test suite: panics are its reports

pub mod batches;
pub mod counters;
pub mod keys_and_values;
pub mod leases;
pub mod limits;
pub mod patterns;
pub mod prefixes;
pub mod tags;
pub mod ttl;

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::port::{Cache, KeyValue};

/// Views of one store under other prefixes, for the [`prefixes`](fn@prefixes) cases.
///
/// `prefixed(p)` is a handle onto the same entries confined to keys under this handle's
/// prefix followed by `p`, as [`MemoryCache::with_prefix`](crate::MemoryCache::with_prefix)
/// does: it cannot see, flush or pattern-delete keys outside it, its tags are its own, and
/// views only narrow (an empty `p` is this handle's namespace again).
pub trait Prefixed: KeyValue + Clone + 'static {
    /// A view under this handle's prefix followed by `prefix`.
    fn prefixed(&self, prefix: &str) -> Self;
}

impl Prefixed for crate::MemoryCache {
    fn prefixed(&self, prefix: &str) -> Self {
        self.with_prefix(prefix)
    }
}

#[cfg(feature = "redis")]
impl Prefixed for crate::RedisCache {
    fn prefixed(&self, prefix: &str) -> Self {
        self.with_prefix(prefix)
    }
}

/// The size limits that the [`limits`](fn@limits) cases expect a cache to be built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SizeLimits {
    /// The longest key accepted, its prefix included, in bytes.
    pub max_key_size: usize,
    /// The longest value stored, in bytes.
    pub max_value_size: usize,
}

/// The limits [`limits`](fn@limits) passes: keys of at most 6 bytes, values of at most 8.
pub const LIMITS: SizeLimits = SizeLimits {
    max_key_size: 6,
    max_value_size: 8,
};

/// Runs every group that needs nothing but the cache: [`keys_and_values`](fn@keys_and_values),
/// [`ttl`](fn@ttl), [`counters`](fn@counters), [`batches`](fn@batches),
/// [`patterns`](fn@patterns), and when the cache has the [`Cache::leases`] capability,
/// [`leases`](fn@leases) and [`tags`](fn@tags). `make` is called once per case.
///
/// # Panics
/// At the first case that fails, with a message naming it.
pub async fn run_all<C, F, Fut>(make: F)
where
    C: KeyValue + Clone + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = C>,
{
    keys_and_values(&make).await;
    ttl(&make).await;
    counters(&make).await;
    batches(&make).await;
    patterns(&make).await;
    if has_leases(&make).await {
        leases(&make).await;
        tags(&make).await;
    }
}

/// Runs each case of the module `$module` (named for messages), each on a fresh (flushed)
/// cache from `$make` (a `&F`).
macro_rules! group {
    ($make:expr, $module:literal: $($case:ident),+ $(,)?) => {
        $(
            $crate::conformance::run_case(
                concat!($module, "::", stringify!($case)),
                $case,
                $crate::conformance::fresh($make).await,
            )
            .await;
        )+
    };
}
pub(crate) use group;

pub use batches::batches;
pub use counters::counters;
pub use keys_and_values::keys_and_values;
pub use leases::leases;
pub use limits::limits;
pub use patterns::patterns;
pub use prefixes::prefixes;
pub use tags::tags;
pub use ttl::ttl;

/// A cache from `make`, flushed.
async fn fresh<C: KeyValue, F: Fn() -> Fut, Fut: Future<Output = C>>(make: &F) -> C {
    let cache = make().await;
    if let Err(error) = cache.flush().await {
        panic!("conformance: the cache to test could not be flushed: {error}");
    }
    cache
}

/// Whether the caches `make` makes have the lease capability.
async fn has_leases<C: Cache, F: Fn() -> Fut, Fut: Future<Output = C>>(make: &F) -> bool {
    make().await.leases().is_some()
}

/// Runs one case, turning its panic into one that names it.
async fn run_case<C, Fut>(name: &str, case: impl FnOnce(C) -> Fut, cache: C)
where
    Fut: Future<Output = ()>,
{
    let mut future = std::pin::pin!(case(cache));
    let outcome = std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    })
    .await;
    if let Err(panic) = outcome {
        panic!("conformance case `{name}` failed: {}", message(&*panic));
    }
}

/// The message of a panic, when it has one.
fn message(panic: &(dyn Any + Send)) -> &str {
    if let Some(message) = panic.downcast_ref::<&str>() {
        message
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message
    } else {
        "(a panic without a message)"
    }
}

/// Polls `condition` until it holds, panicking after `limit`: for what happens with the
/// passing of time (a TTL running out) or on the adapter's own task (a lease given back),
/// never as synchronisation between the case's own steps.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How long [`eventually`] waits: generous, for loaded machines.
const PATIENCE: Duration = Duration::from_secs(10);
