//! Holding "some cache" without naming its type: [`SharedCache`], and the port for `Arc<C>`
//! and `&C`.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::error::CacheError;
use crate::health::Health;
use crate::port::{Cache, Identity};

mod leases;
use leases::{DynLeases, forward_leases};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, CacheError>> + Send + 'a>>;

/// A cheap-`Clone` handle to any [`Cache`]: what application code holds when it should not
/// know whether Redis, memory or your own adapter is behind it. [`global`](crate::global) and
/// [`from_env`](crate::from_env) return one.
///
/// Each call through the handle boxes its future (one small allocation); code that knows the
/// concrete adapter can call it directly and pay nothing.
///
/// ```
/// use cache_aside::prelude::*;
/// use cache_aside::{MemoryCache, SharedCache};
///
/// struct UserService {
///     cache: SharedCache,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_aside::CacheError> {
/// let service = UserService { cache: SharedCache::new(MemoryCache::new()) };
/// service.cache.set("user:1", "Ada", None).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SharedCache(Arc<dyn DynCache>);

impl SharedCache {
    /// Wraps `cache`. Wrapping a `SharedCache` returns it as it is, not a handle to a handle.
    pub fn new<C: Cache + 'static>(cache: C) -> Self {
        if let Some(shared) = (&cache as &dyn Any).downcast_ref::<SharedCache>() {
            return shared.clone();
        }
        Self(Arc::new(cache))
    }
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedCache").finish_non_exhaustive()
    }
}

/// The object-safe twin of [`Cache`], implemented for every cache, so that [`SharedCache`]
/// can hold one behind a pointer.
trait DynCache: DynLeases + Send + Sync {
    fn identity(&self) -> Identity;
    fn health(&self) -> Health;
    fn delete_later(&self, key: &str, cause: &CacheError) -> bool;
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<String>>;
    fn set<'a>(&'a self, key: &'a str, value: &'a str, ttl: Option<Duration>) -> BoxFuture<'a, ()>;
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, bool>;
    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, bool>;
    fn expire<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, bool>;
    fn increment<'a>(&'a self, key: &'a str, amount: i64) -> BoxFuture<'a, i64>;
    fn decrement<'a>(&'a self, key: &'a str, amount: i64) -> BoxFuture<'a, i64>;
    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Duration>>;
    fn flush(&self) -> BoxFuture<'_, ()>;
    fn ping(&self) -> BoxFuture<'_, ()>;
    fn delete_pattern<'a>(&'a self, pattern: &'a str) -> BoxFuture<'a, u64>;
    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, HashMap<String, Option<String>>>;
    fn set_many<'a>(
        &'a self,
        entries: &'a [(&'a str, &'a str)],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, ()>;
}

impl<C: Cache> DynCache for C {
    fn identity(&self) -> Identity {
        Cache::identity(self)
    }
    fn health(&self) -> Health {
        Cache::health(self)
    }
    fn delete_later(&self, key: &str, cause: &CacheError) -> bool {
        Cache::delete_later(self, key, cause)
    }
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(Cache::get(self, key))
    }
    fn set<'a>(&'a self, key: &'a str, value: &'a str, ttl: Option<Duration>) -> BoxFuture<'a, ()> {
        Box::pin(Cache::set(self, key, value, ttl))
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(Cache::delete(self, key))
    }
    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(Cache::exists(self, key))
    }
    fn expire<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, bool> {
        Box::pin(Cache::expire(self, key, ttl))
    }
    fn increment<'a>(&'a self, key: &'a str, amount: i64) -> BoxFuture<'a, i64> {
        Box::pin(Cache::increment(self, key, amount))
    }
    fn decrement<'a>(&'a self, key: &'a str, amount: i64) -> BoxFuture<'a, i64> {
        Box::pin(Cache::decrement(self, key, amount))
    }
    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Duration>> {
        Box::pin(Cache::ttl(self, key))
    }
    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(Cache::flush(self))
    }
    fn ping(&self) -> BoxFuture<'_, ()> {
        Box::pin(Cache::ping(self))
    }
    fn delete_pattern<'a>(&'a self, pattern: &'a str) -> BoxFuture<'a, u64> {
        Box::pin(Cache::delete_pattern(self, pattern))
    }
    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, HashMap<String, Option<String>>> {
        Box::pin(Cache::get_many(self, keys))
    }
    fn set_many<'a>(
        &'a self,
        entries: &'a [(&'a str, &'a str)],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(Cache::set_many(self, entries, ttl))
    }
}

/// Implements every required [`Cache`] method by calling the same method of `$Trait` on
/// `$target`, where `$this` names `self`. The `async move` wrappers cost nothing at run time;
/// they let the returned future borrow `self` and the arguments for different lifetimes.
macro_rules! forward_cache {
    ($Trait:ident, |$this:ident| $target:expr) => {
        fn identity(&self) -> Identity {
            let $this = self;
            $Trait::identity($target)
        }
        fn health(&self) -> Health {
            let $this = self;
            $Trait::health($target)
        }
        fn delete_later(&self, key: &str, cause: &CacheError) -> bool {
            let $this = self;
            $Trait::delete_later($target, key, cause)
        }
        fn get(
            &self,
            key: &str,
        ) -> impl Future<Output = Result<Option<String>, CacheError>> + Send {
            let $this = self;
            async move { $Trait::get($target, key).await }
        }
        fn set(
            &self,
            key: &str,
            value: &str,
            ttl: Option<Duration>,
        ) -> impl Future<Output = Result<(), CacheError>> + Send {
            let $this = self;
            async move { $Trait::set($target, key, value, ttl).await }
        }
        fn delete(&self, key: &str) -> impl Future<Output = Result<bool, CacheError>> + Send {
            let $this = self;
            async move { $Trait::delete($target, key).await }
        }
        fn exists(&self, key: &str) -> impl Future<Output = Result<bool, CacheError>> + Send {
            let $this = self;
            async move { $Trait::exists($target, key).await }
        }
        fn expire(
            &self,
            key: &str,
            ttl: Duration,
        ) -> impl Future<Output = Result<bool, CacheError>> + Send {
            let $this = self;
            async move { $Trait::expire($target, key, ttl).await }
        }
        fn increment(
            &self,
            key: &str,
            amount: i64,
        ) -> impl Future<Output = Result<i64, CacheError>> + Send {
            let $this = self;
            async move { $Trait::increment($target, key, amount).await }
        }
        fn decrement(
            &self,
            key: &str,
            amount: i64,
        ) -> impl Future<Output = Result<i64, CacheError>> + Send {
            let $this = self;
            async move { $Trait::decrement($target, key, amount).await }
        }
        fn ttl(
            &self,
            key: &str,
        ) -> impl Future<Output = Result<Option<Duration>, CacheError>> + Send {
            let $this = self;
            async move { $Trait::ttl($target, key).await }
        }
        fn flush(&self) -> impl Future<Output = Result<(), CacheError>> + Send {
            let $this = self;
            async move { $Trait::flush($target).await }
        }
        fn ping(&self) -> impl Future<Output = Result<(), CacheError>> + Send {
            let $this = self;
            async move { $Trait::ping($target).await }
        }
        fn delete_pattern(
            &self,
            pattern: &str,
        ) -> impl Future<Output = Result<u64, CacheError>> + Send {
            let $this = self;
            async move { $Trait::delete_pattern($target, pattern).await }
        }
        fn get_many(
            &self,
            keys: &[&str],
        ) -> impl Future<Output = Result<HashMap<String, Option<String>>, CacheError>> + Send {
            let $this = self;
            async move { $Trait::get_many($target, keys).await }
        }
        fn set_many(
            &self,
            entries: &[(&str, &str)],
            ttl: Option<Duration>,
        ) -> impl Future<Output = Result<(), CacheError>> + Send {
            let $this = self;
            async move { $Trait::set_many($target, entries, ttl).await }
        }
    };
}

impl Cache for SharedCache {
    forward_cache!(DynCache, |this| &*this.0);
    forward_leases!(DynLeases, |this| &*this.0);
}

impl<C: Cache> Cache for Arc<C> {
    forward_cache!(Cache, |this| &**this);
    forward_leases!(Cache, |this| &**this);
}

impl<C: Cache> Cache for &C {
    forward_cache!(Cache, |this| &**this);
    forward_leases!(Cache, |this| &**this);
}
