//! Holding "some cache" without naming its type: [`SharedCache`], and the port for `Arc<C>`
//! and `&C`.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::error::CacheError;
use crate::lease::Leases;
use crate::outage::Outage;
use crate::port::{BoxFuture, Cache, KeyValue, StoreId};
use crate::rate_limit::RateLimits;

/// A cheap-`Clone` handle to any [`KeyValue`] cache: what application code holds when it
/// should not know whether Redis, memory or your own adapter is behind it. [`global`](crate::global)
/// and [`from_env`](crate::from_env) return one.
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
    pub fn new<C: KeyValue + 'static>(cache: C) -> Self {
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

/// The object-safe twin of [`Cache`] and [`KeyValue`], implemented for every such cache, so
/// that [`SharedCache`] can hold one behind a pointer.
trait DynCache: Send + Sync {
    fn store_id(&self) -> StoreId;
    fn leases(&self) -> Option<&dyn Leases>;
    fn outage(&self) -> Option<&dyn Outage>;
    fn rate_limits(&self) -> Option<&dyn RateLimits>;
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, CacheError>>;
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), CacheError>>;
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, CacheError>>;
    fn delete_pattern<'a>(&'a self, pattern: &'a str) -> BoxFuture<'a, Result<u64, CacheError>>;
    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, CacheError>>;
    fn expire<'a>(&'a self, key: &'a str, ttl: Duration)
    -> BoxFuture<'a, Result<bool, CacheError>>;
    fn increment<'a>(&'a self, key: &'a str, amount: i64)
    -> BoxFuture<'a, Result<i64, CacheError>>;
    fn decrement<'a>(&'a self, key: &'a str, amount: i64)
    -> BoxFuture<'a, Result<i64, CacheError>>;
    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Duration>, CacheError>>;
    fn flush(&self) -> BoxFuture<'_, Result<(), CacheError>>;
    fn ping(&self) -> BoxFuture<'_, Result<(), CacheError>>;
    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<HashMap<String, Option<String>>, CacheError>>;
    fn set_many<'a>(
        &'a self,
        entries: &'a [(&'a str, &'a str)],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), CacheError>>;
}

impl<C: KeyValue> DynCache for C {
    fn store_id(&self) -> StoreId {
        Cache::store_id(self)
    }
    fn leases(&self) -> Option<&dyn Leases> {
        Cache::leases(self)
    }
    fn outage(&self) -> Option<&dyn Outage> {
        Cache::outage(self)
    }
    fn rate_limits(&self) -> Option<&dyn RateLimits> {
        Cache::rate_limits(self)
    }
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, CacheError>> {
        Box::pin(Cache::get(self, key))
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(Cache::set(self, key, value, ttl))
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, CacheError>> {
        Box::pin(Cache::delete(self, key))
    }
    fn delete_pattern<'a>(&'a self, pattern: &'a str) -> BoxFuture<'a, Result<u64, CacheError>> {
        Box::pin(Cache::delete_pattern(self, pattern))
    }
    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, CacheError>> {
        Box::pin(KeyValue::exists(self, key))
    }
    fn expire<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, CacheError>> {
        Box::pin(KeyValue::expire(self, key, ttl))
    }
    fn increment<'a>(
        &'a self,
        key: &'a str,
        amount: i64,
    ) -> BoxFuture<'a, Result<i64, CacheError>> {
        Box::pin(KeyValue::increment(self, key, amount))
    }
    fn decrement<'a>(
        &'a self,
        key: &'a str,
        amount: i64,
    ) -> BoxFuture<'a, Result<i64, CacheError>> {
        Box::pin(KeyValue::decrement(self, key, amount))
    }
    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Duration>, CacheError>> {
        Box::pin(KeyValue::ttl(self, key))
    }
    fn flush(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        Box::pin(KeyValue::flush(self))
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        Box::pin(KeyValue::ping(self))
    }
    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<HashMap<String, Option<String>>, CacheError>> {
        Box::pin(KeyValue::get_many(self, keys))
    }
    fn set_many<'a>(
        &'a self,
        entries: &'a [(&'a str, &'a str)],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(KeyValue::set_many(self, entries, ttl))
    }
}

/// Implements [`Cache`] by calling the methods of `$Trait` on `$target`, where `$this` names
/// `self`. The `async move` wrappers cost nothing at run time; they let the returned future
/// borrow `self` and the arguments for different lifetimes.
macro_rules! forward_cache {
    ($Trait:ident, |$this:ident| $target:expr) => {
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
        fn delete_pattern(
            &self,
            pattern: &str,
        ) -> impl Future<Output = Result<u64, CacheError>> + Send {
            let $this = self;
            async move { $Trait::delete_pattern($target, pattern).await }
        }
        fn store_id(&self) -> StoreId {
            let $this = self;
            $Trait::store_id($target)
        }
        fn leases(&self) -> Option<&dyn Leases> {
            let $this = self;
            $Trait::leases($target)
        }
        fn outage(&self) -> Option<&dyn Outage> {
            let $this = self;
            $Trait::outage($target)
        }
        fn rate_limits(&self) -> Option<&dyn RateLimits> {
            let $this = self;
            $Trait::rate_limits($target)
        }
    };
}

/// Implements [`KeyValue`] by calling the methods of `$Trait` on `$target`, as
/// `forward_cache!` does.
macro_rules! forward_key_value {
    ($Trait:ident, |$this:ident| $target:expr) => {
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
}

impl KeyValue for SharedCache {
    forward_key_value!(DynCache, |this| &*this.0);
}

impl<C: Cache> Cache for Arc<C> {
    forward_cache!(Cache, |this| &**this);
}

impl<C: KeyValue> KeyValue for Arc<C> {
    forward_key_value!(KeyValue, |this| &**this);
}

impl<C: Cache> Cache for &C {
    forward_cache!(Cache, |this| &**this);
}

impl<C: KeyValue> KeyValue for &C {
    forward_key_value!(KeyValue, |this| &**this);
}
