//! The runtime of `cache-aside`: the [`Cache`] port, its
//! adapters, and the cache-aside helpers that the attributes expand into.
//!
//! Depend on `cache-aside`, which re-exports all of this; this crate is its implementation.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod aside;
mod attribute;
mod codec;
#[cfg(feature = "conformance")]
pub mod conformance;
mod counter;
mod error;
mod expiry;
mod glob;
mod global;
mod health;
mod lease;
mod limits;
mod memory;
mod metrics;
mod no_cache;
mod outage;
mod port;
mod rate_limit;
#[cfg(feature = "redis")]
mod redis_cache;
mod scope;
mod shared;
mod view;

pub use aside::{get_or_load, invalidate_key, invalidate_pattern, invalidate_tags, lookup, store};
pub use attribute::{FunctionStats, stats, stats_for};
pub use error::{BoxError, CacheError, ErrorCode};
pub use global::{from_env, global, set_global_default};
pub use health::{BreakerState, Health};
pub use lease::{DEFAULT_LEASE, Lease, LeaseToken, Leases};
pub use limits::{DEFAULT_MAX_KEY_SIZE, DEFAULT_MAX_VALUE_SIZE};
pub use memory::{DEFAULT_MAX_CAPACITY, MemoryCache, MemoryCacheBuilder};
pub use no_cache::NoCache;
pub use outage::{Invalidation, Outage};
pub use port::{BoxFuture, Cache, KeyValue, StoreId};
pub use rate_limit::{MAX_RATE_LIMIT, RateDecision, RateLimiter, RateLimiterStats, RateLimits};
#[cfg(feature = "redis")]
pub use redis_cache::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_CONNECTIONS, DEFAULT_COOL_DOWN, DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_MAX_PENDING_INVALIDATIONS, DEFAULT_OP_TIMEOUT, DEFAULT_SCAN_COUNT, LocalTierStats,
    RedisCache, RedisCacheBuilder,
};
pub use scope::scope;
pub use shared::SharedCache;

/// Escapes `literal` so that, inside a Redis glob pattern, it matches itself and nothing else
/// (`*`, `?`, `[`, `]` and `\` get a backslash).
///
/// ```
/// assert_eq!(cache_aside::escape_glob("a*b"), r"a\*b");
/// ```
pub fn escape_glob(literal: &str) -> String {
    glob::escape(literal)
}

/// Brings the [`Cache`] and [`KeyValue`] methods into scope: `use cache_aside::prelude::*;`.
pub mod prelude {
    pub use crate::port::{Cache, KeyValue};
}

/// What the attribute macros expand into; not a public API, and it may change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use crate::attribute::{
        Cacheable, GlobEscaped, KeepErr, KeyPart, MissOptions, OkOnly, OkSome, OkSomeAndNone,
        Plain, ResultProbe, ReturnKind, Shape, ShareClonedErr, Site, SomeAndNone, SomeOnly, Target,
        cached, glob_escaped, invalidate, invalidate_skipped, key_part, lease, miss_options, put,
        put_split, return_kind, ttl,
    };
    pub use crate::attribute::{FromArgument, StoreTtl, TtlArgument, default_cache, ttl_from};
    pub use crate::global::global;
}
