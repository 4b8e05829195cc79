//! The lease and tag methods of the port, forwarded by [`SharedCache`](super::SharedCache),
//! `Arc<C>` and `&C` like the rest of it.

use std::time::Duration;

use super::BoxFuture;
use crate::lease::{DetachedRelease, Lease, LeaseToken, Lookup};
use crate::port::Cache;

/// The object-safe twin of the lease and tag methods of [`Cache`].
pub(super) trait DynLeases {
    fn lookup<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Lookup>;
    fn try_lease<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
        ttl: Option<Duration>,
        tags: &'a [&'a str],
    ) -> BoxFuture<'a, Lease>;
    fn set_leased<'a>(
        &'a self,
        key: &'a str,
        token: &'a LeaseToken,
        value: &'a str,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, bool>;
    fn release_lease<'a>(&'a self, key: &'a str, token: &'a LeaseToken) -> BoxFuture<'a, ()>;
    fn release_lease_detached(&self, key: &str, token: &LeaseToken) -> Option<DetachedRelease>;
    fn invalidate_tags<'a>(&'a self, tags: &'a [&'a str]) -> BoxFuture<'a, u64>;
}

impl<C: Cache> DynLeases for C {
    fn lookup<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Lookup> {
        Box::pin(Cache::lookup(self, key))
    }
    fn try_lease<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
        ttl: Option<Duration>,
        tags: &'a [&'a str],
    ) -> BoxFuture<'a, Lease> {
        Box::pin(Cache::try_lease(self, key, lease, ttl, tags))
    }
    fn set_leased<'a>(
        &'a self,
        key: &'a str,
        token: &'a LeaseToken,
        value: &'a str,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, bool> {
        Box::pin(Cache::set_leased(self, key, token, value, ttl))
    }
    fn release_lease<'a>(&'a self, key: &'a str, token: &'a LeaseToken) -> BoxFuture<'a, ()> {
        Box::pin(Cache::release_lease(self, key, token))
    }
    fn release_lease_detached(&self, key: &str, token: &LeaseToken) -> Option<DetachedRelease> {
        Cache::release_lease_detached(self, key, token)
    }
    fn invalidate_tags<'a>(&'a self, tags: &'a [&'a str]) -> BoxFuture<'a, u64> {
        Box::pin(Cache::invalidate_tags(self, tags))
    }
}

/// Implements the lease and tag methods of [`Cache`] by calling those of `$Trait` on
/// `$target`, as `forward_cache!` does for the others.
macro_rules! forward_leases {
    ($Trait:ident, |$this:ident| $target:expr) => {
        fn lookup(
            &self,
            key: &str,
        ) -> impl Future<Output = Result<$crate::lease::Lookup, CacheError>> + Send {
            let $this = self;
            async move { $Trait::lookup($target, key).await }
        }
        fn try_lease(
            &self,
            key: &str,
            lease: Duration,
            ttl: Option<Duration>,
            tags: &[&str],
        ) -> impl Future<Output = Result<$crate::lease::Lease, CacheError>> + Send {
            let $this = self;
            async move { $Trait::try_lease($target, key, lease, ttl, tags).await }
        }
        fn set_leased(
            &self,
            key: &str,
            token: &$crate::lease::LeaseToken,
            value: &str,
            ttl: Option<Duration>,
        ) -> impl Future<Output = Result<bool, CacheError>> + Send {
            let $this = self;
            async move { $Trait::set_leased($target, key, token, value, ttl).await }
        }
        fn release_lease(
            &self,
            key: &str,
            token: &$crate::lease::LeaseToken,
        ) -> impl Future<Output = Result<(), CacheError>> + Send {
            let $this = self;
            async move { $Trait::release_lease($target, key, token).await }
        }
        fn release_lease_detached(
            &self,
            key: &str,
            token: &$crate::lease::LeaseToken,
        ) -> Option<$crate::lease::DetachedRelease> {
            let $this = self;
            $Trait::release_lease_detached($target, key, token)
        }
        fn invalidate_tags(
            &self,
            tags: &[&str],
        ) -> impl Future<Output = Result<u64, CacheError>> + Send {
            let $this = self;
            async move { $Trait::invalidate_tags($target, tags).await }
        }
    };
}
pub(super) use forward_leases;
