//! Cache-aside caching for async Rust, over Redis or process memory, that fails open.
//!
//! ```
//! use std::time::Duration;
//! use cache_aside::prelude::*;
//!
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct User {
//!     id: u64,
//!     name: String,
//! }
//!
//! async fn load_user(id: u64) -> Result<User, std::io::Error> {
//!     Ok(User { id, name: "Ada".into() }) // the database call
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // At start-up: Redis when REDIS_URL is set, else process memory.
//! cache_aside::set_global_default(cache_aside::from_env()?)?;
//!
//! // A read through the cache: the first call loads and stores, later calls hit.
//! let cache = cache_aside::global();
//! let ttl = Some(Duration::from_secs(3600));
//! let user = cache_aside::get_or_load(cache, "user:1", ttl, || load_user(1)).await?;
//! assert_eq!(user.name, "Ada");
//!
//! // After a write, invalidate.
//! cache_aside::invalidate_pattern(cache, "user:1*").await?;
//! assert!(!cache.exists("user:1").await?);
//! # Ok(())
//! # }
//! ```
//!
//! # Architecture
//! [`Cache`] is the port: application code depends on it and on nothing else. The adapters
//! implement it: [`MemoryCache`], the embedded default that needs no server, and
//! `RedisCache` (feature `redis`, on by default), the production store. Your own adapter
//! plugs in by implementing [`Cache`]. [`SharedCache`] holds any of them behind one cheap
//! `Clone` handle.
//!
//! # Failing open
//! The helpers ([`get_or_load`], [`lookup`], [`store`], [`invalidate_key`],
//! [`invalidate_pattern`]) never let a cache problem change what the caller gets: a
//! connection error, a timeout or an undecodable value is logged with `tracing` and the
//! loader simply runs. The [`Cache`] methods themselves return every error, classified by
//! [`ErrorCode`], for code that wants to decide for itself.
//!
//! # Features
//! - `redis` (default): the Redis adapter, through redis-rs.
//! - `tls` (default): `rediss://` URLs, through rustls.

pub use cache_macros::{cache_put, cached, invalidate};
pub use cache_runtime::*;

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
