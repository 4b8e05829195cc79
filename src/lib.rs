//! Declarative cache-aside caching for async Rust, over Redis or process memory, that fails
//! open.
//!
//! ```
//! use cache_aside::{cached, invalidate};
//!
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct User {
//!     id: u64,
//!     name: String,
//! }
//!
//! #[cached(key = "user:{id}", ttl = 3600)]
//! async fn get_user(id: u64) -> Result<User, std::io::Error> {
//!     Ok(User { id, name: "Ada".into() }) // the database read
//! }
//!
//! #[invalidate(key = "user:{id}")]
//! async fn rename_user(id: u64, name: &str) -> Result<(), std::io::Error> {
//!     Ok(()) // the database write
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // At start-up: Redis when REDIS_URL is set, else process memory.
//! cache_aside::set_global_default(cache_aside::from_env()?)?;
//!
//! let user = get_user(1).await?; // runs the body and stores the user
//! let again = get_user(1).await?; // a hit
//! assert_eq!(user, again);
//! rename_user(1, "Grace").await?; // deletes user:1
//! # Ok(())
//! # }
//! ```
//!
//! # The attributes
//! - [`#[cached]`](macro@cached) reads through the cache: a hit returns the stored value,
//!   a miss runs the body and stores its result. Concurrent misses on one key run the body
//!   once, also across processes, and a load that overlaps an invalidation is never stored
//!   (see [its consistency section](macro@cached#consistency)).
//! - [`#[invalidate]`](macro@invalidate) deletes keys, the entries under tags, or the keys
//!   matching glob patterns, after the body succeeds. A pattern matches characters, not
//!   segments: `pattern = "user:{id}*"` for id 1 also deletes users 10, 12 and 100; write
//!   `"user:{id}:*"`, or prefer `key` and `tags`.
//! - [`#[cache_put]`](macro@cache_put) runs the body and writes its result.
//!
//! Each counts what it does; read the counters with [`stats`]. Each `#[cached]` call is also
//! a `tracing` span at `debug`, with its outcome (the README's "Observability").
//!
//! # By hand
//! The attributes expand into calls like those of the runtime helpers, which can be used
//! directly: [`get_or_load`], [`lookup`], [`store`], [`invalidate_key`],
//! [`invalidate_pattern`], [`invalidate_tags`], and every [`Cache`] method. (The helpers
//! take no leases: a load by hand that overlaps an invalidation can store what it read.)
//!
//! ```
//! use std::time::Duration;
//! use cache_aside::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cache = cache_aside::global();
//! let ttl = Some(Duration::from_secs(3600));
//! let name: String = cache_aside::get_or_load(cache, "user:2:name", ttl, || async {
//!     Ok::<_, std::io::Error>("Ada".to_owned())
//! })
//! .await?;
//! assert_eq!(name, "Ada");
//! cache_aside::invalidate_pattern(cache, "user:2:*").await?;
//! assert!(!cache.exists("user:2:name").await?);
//! # Ok(())
//! # }
//! ```
//!
//! # Architecture
//! [`Cache`] is the port: application code depends on it and on nothing else. The adapters
//! implement it: [`MemoryCache`], the embedded default that needs no server, and
//! `RedisCache` (feature `redis`, on by default), the production store. Your own adapter
//! plugs in by implementing the four required methods of [`Cache`]; [`KeyValue`] adds the
//! Redis-like operations that application code uses. Leases and tags ([`Leases`]),
//! deletions kept through an outage ([`Outage`]) and rate limits ([`RateLimits`], for
//! [`RateLimiter`]) are capabilities an adapter opts into with [`Cache::leases`],
//! [`Cache::outage`] and [`Cache::rate_limits`], and a wrapper forwards in one line each.
//! [`SharedCache`] holds any [`KeyValue`] cache behind one cheap `Clone` handle.
//!
//! # Failing open
//! The attributes and the helpers ([`get_or_load`], [`lookup`], [`store`], [`invalidate_key`],
//! [`invalidate_pattern`]) never let a cache problem change what the caller gets: a
//! connection error, a timeout or an undecodable value is logged with `tracing` (target
//! `cache_aside`: `RUST_LOG=cache_aside=warn` shows failures, `trace` every hit and miss)
//! and the loader simply runs. The [`Cache`] methods themselves return every error, classified by
//! [`ErrorCode`], for code that wants to decide for itself. A `RedisCache`'s circuit breaker
//! keeps an outage from costing each call a timeout, and deletions that failed during it
//! are replayed before anything is read again; [`Cache::health`] shows both.
//!
//! # Features
//! - `redis` (default): the Redis adapter, through redis-rs.
//! - `tls` (default): `rediss://` URLs, through rustls.
//! - `conformance`: the conformance suite (`cache_aside::conformance`), to run against your
//!   own adapter.
//! - `metrics`: every counter of [`stats`], the load times and the circuit breakers' states
//!   through the [`metrics`](https://docs.rs/metrics) facade (the README's "Observability"
//!   lists the metrics).

#[doc = include_str!("../docs/cache_put.md")]
pub use cache_macros::cache_put;
#[doc = include_str!("../docs/cached.md")]
pub use cache_macros::cached;
#[doc = include_str!("../docs/invalidate.md")]
pub use cache_macros::invalidate;
pub use cache_runtime::*;

/// The README's code blocks, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// Brings the [`Cache`] methods into scope.
pub mod prelude {
    pub use cache_runtime::prelude::*;
}

/// What generated code names; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use cache_runtime;
    pub use cache_runtime::__private::*;
}
