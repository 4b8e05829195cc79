//! A cache per scope: [`scope`] makes a cache the one of every attribute that names no
//! `cache = ...`, while one future runs.

use std::future::Future;

use crate::port::KeyValue;
use crate::shared::SharedCache;

tokio::task_local! {
    /// The cache of the innermost [`scope`] around the future being polled.
    static SCOPED: SharedCache;
}

/// Runs `future` with `cache` as the cache of every `#[cached]`, `#[cache_put]` and
/// `#[invalidate]` that names no `cache = ...`, instead of the process-wide
/// [`global`](crate::global) cache: a cache per test, or per tenant, without passing it
/// down.
///
/// ```
/// use cache_aside::prelude::*;
/// use cache_aside::{MemoryCache, cached};
///
/// #[cached(key = "greeting")]
/// async fn greeting() -> String {
///     "hello".to_owned() // the slow part
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_aside::CacheError> {
/// // In a #[tokio::test]: this test's entries, which no other test sees.
/// let cache = MemoryCache::new();
/// cache_aside::scope(cache.clone(), async {
///     assert_eq!(greeting().await, "hello");
/// })
/// .await;
/// assert_eq!(cache.get("greeting").await?.as_deref(), Some(r#""hello""#));
/// assert_eq!(cache_aside::global().get("greeting").await?, None);
/// # Ok(())
/// # }
/// ```
///
/// It takes any cache [`set_global_default`](crate::set_global_default) takes (a
/// [`MemoryCache`](crate::MemoryCache), a `RedisCache`, a [`NoCache`](crate::NoCache), a
/// [`SharedCache`] or your own [`KeyValue`] adapter), behind one [`SharedCache`] handle: a
/// clone of a handle passed in is the same store, and shares loads with it.
///
/// # What is inside the scope
/// The scope is a Tokio task-local: it holds while `future` is polled, across its awaits
/// and in the futures it awaits (`join!` and `select!` included), and a nested `scope` wins
/// over an outer one until it ends. A call finds its cache when it first runs, so a future
/// made inside the scope and first polled outside it uses the process-wide cache.
///
/// Tasks spawned inside do **not** inherit it (`tokio::spawn`, `spawn_blocking`, threads):
/// they run on their own and use the process-wide cache. Wrap what you spawn in a scope of
/// its own to pass it on:
///
/// ```
/// # use cache_aside::{MemoryCache, cached};
/// # #[cached(key = "greeting")]
/// # async fn greeting() -> String { "hello".to_owned() }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let cache = MemoryCache::new();
/// cache_aside::scope(cache.clone(), async {
///     let task = tokio::spawn(cache_aside::scope(cache.clone(), greeting()));
///     task.await.unwrap();
/// })
/// .await;
/// # }
/// ```
///
/// An attribute that names its cache (`cache = self.cache`) uses that one, in a scope or
/// not; so do the helpers ([`get_or_load`](crate::get_or_load) and the others), which take
/// the cache as an argument.
pub async fn scope<C, F>(cache: C, future: F) -> F::Output
where
    C: KeyValue + 'static,
    F: Future,
{
    SCOPED.scope(SharedCache::new(cache), future).await
}

/// The cache of the innermost [`scope`] around the future being polled, if there is one.
pub(crate) fn scoped() -> Option<SharedCache> {
    SCOPED.try_with(SharedCache::clone).ok()
}
