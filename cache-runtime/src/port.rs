//! The port: what cache-aside needs from a store ([`Cache`]), the Redis-like operations that
//! application code uses ([`KeyValue`]), and the capabilities an adapter opts into
//! ([`Leases`](crate::Leases), [`Outage`](crate::Outage), [`RateLimits`](crate::RateLimits)).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::error::{CacheError, ErrorCode};
use crate::health::Health;
use crate::lease::Leases;
use crate::outage::Outage;
use crate::rate_limit::RateLimits;

/// A boxed, `Send` future: what the object-safe capability traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What cache-aside needs from a store: the port of the hexagon.
///
/// `#[cached]`, `#[cache_put]`, `#[invalidate]` and the helpers ([`get_or_load`](crate::get_or_load)
/// and the others) depend on this trait only. The adapters ([`MemoryCache`](crate::MemoryCache),
/// and `RedisCache` with the `redis` feature) implement it, and so can your own: implement
/// the four required methods (with `async fn` if you like; the returned futures must be
/// `Send`) and everything else has a default.
///
/// Keys and values are UTF-8 strings. A TTL is rounded up to whole milliseconds; a `ttl` of
/// `None` means "no expiry".
///
/// # Capabilities
/// Some guarantees need more than four operations, and an adapter opts into each by returning
/// an implementation from one method; a wrapper (a decorator that logs or counts) forwards
/// each in one line, `fn leases(&self) -> Option<&dyn Leases> { self.inner.leases() }`:
/// - [`leases`](Self::leases): leases and tags. Without them, `#[cached]` loads and stores
///   plainly: in-process single flight and in-process invalidations still hold, but a load
///   in one process can store a value that an invalidation in another process made stale,
///   and `tags` are refused at invalidation.
/// - [`outage`](Self::outage): deletions kept for replay while the store is out of reach,
///   and [`health`](Self::health). Without it, a deletion that fails is only logged.
/// - [`rate_limits`](Self::rate_limits): sliding-window rate limits, checked atomically in
///   the store, for [`RateLimiter`](crate::RateLimiter). Without it, a limiter allows every
///   request (or refuses every one, if it fails closed) and logs that once.
///
/// The Redis-like operations that application code uses (`exists`, `expire`, counters, `ttl`,
/// `flush`, `ping`, `get_many`, `set_many`) are the [`KeyValue`] trait, which both adapters
/// implement; `use cache_aside::prelude::*;` brings both traits into scope.
///
/// ```
/// use std::time::Duration;
/// use cache_aside::prelude::*;
/// use cache_aside::CacheError;
///
/// /// A cache that stores nothing: every read misses.
/// struct Nothing;
///
/// impl Cache for Nothing {
///     async fn get(&self, _key: &str) -> Result<Option<String>, CacheError> {
///         Ok(None)
///     }
///     async fn set(&self, _: &str, _: &str, _: Option<Duration>) -> Result<(), CacheError> {
///         Ok(())
///     }
///     async fn delete(&self, _key: &str) -> Result<bool, CacheError> {
///         Ok(false)
///     }
///     async fn delete_pattern(&self, _pattern: &str) -> Result<u64, CacheError> {
///         Ok(0)
///     }
/// }
///
/// #[cache_aside::cached(key = "answer", cache = Nothing)]
/// async fn answer() -> u32 {
///     42
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(answer().await, 42);
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a cache: it does not implement `cache_aside::Cache`",
    label = "expected a cache here",
    note = "`cache = ...` takes a `MemoryCache`, a `RedisCache`, a `SharedCache`, a reference \
            or an `Arc` to one, or your own adapter implementing `Cache`"
)]
pub trait Cache: Send + Sync {
    /// The value stored at `key`, or `None` when there is none (or it expired).
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<String>, CacheError>> + Send;

    /// Stores `value` at `key`, replacing any value and any TTL it had.
    ///
    /// A `ttl` of zero is an error ([`ErrorCode::Set`](crate::ErrorCode::Set)), as in Redis;
    /// pass `None` for no expiry.
    fn set(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<(), CacheError>> + Send;

    /// Deletes `key`; `true` if it existed.
    fn delete(&self, key: &str) -> impl Future<Output = Result<bool, CacheError>> + Send;

    /// Deletes every key matching a Redis glob pattern (`*`, `?`, `[a-z]`, `[^x]`, `\`
    /// escapes) and returns how many were deleted. With a prefix, the pattern applies to the
    /// part of the key after it, and only keys under the prefix can match.
    ///
    /// A pattern matches by characters, not by segments: `user:1*` also matches `user:10`
    /// and `user:123`; write `user:1:*` (and keys that end in a separator) to mean "the keys
    /// of user 1". Interpolated values must be escaped
    /// ([`escape_glob`](crate::escape_glob); the attributes do it).
    ///
    /// On Redis it walks the whole keyspace (in `SCAN` batches, never blocking the store), so
    /// its cost grows with the number of keys, not with the number deleted.
    fn delete_pattern(&self, pattern: &str)
    -> impl Future<Output = Result<u64, CacheError>> + Send;

    /// Which store this handle reaches: the scope of in-process single flight. Concurrent
    /// `#[cached]` misses share one load, and an `#[invalidate]` marks loads stale, only
    /// between handles of the same `StoreId`.
    ///
    /// The default is the address of `self`, or for a zero-sized adapter (which has no
    /// address of its own) its type's name, so clones of a handle that holds its state
    /// inline do not share loads. Return a [`StoreId::fresh`] value kept in the shared state
    /// when clones reach the same entries (the adapters of this crate do; every view of
    /// theirs, with its own prefix, has its own). Handles that forward to another cache (`&C`,
    /// `Arc<C>`, [`SharedCache`](crate::SharedCache)) return that cache's. Two handles onto
    /// one store may differ (their calls then simply do not share loads); two different
    /// stores must never compare equal while both are alive.
    fn store_id(&self) -> StoreId {
        if std::mem::size_of_val(self) == 0 {
            return StoreId::Type(std::any::type_name::<Self>());
        }
        StoreId::Address((self as *const Self).cast::<()>() as usize)
    }

    /// The lease and tag capability, if this cache has one (see [`Leases`]). The default is
    /// `None`: plain cache-aside, without protection across processes, and without tags.
    fn leases(&self) -> Option<&dyn Leases> {
        None
    }

    /// The outage capability, if this cache has one (see [`Outage`]). The default is `None`:
    /// a deletion that fails is logged and not replayed.
    fn outage(&self) -> Option<&dyn Outage> {
        None
    }

    /// The rate-limit capability, if this cache has one (see [`RateLimits`]). The default is
    /// `None`: a [`RateLimiter`](crate::RateLimiter) over this cache cannot count, and fails
    /// open (or closed).
    fn rate_limits(&self) -> Option<&dyn RateLimits> {
        None
    }

    /// How the cache is doing: its circuit breaker and the deletions waiting for replay, from
    /// its [`outage`](Self::outage) capability. Without one, a closed breaker and zero counts.
    fn health(&self) -> Health {
        self.outage().map(Outage::health).unwrap_or_default()
    }

    /// Deletes every entry recorded under any of `tags` (by `#[cached(tags = [...])]` or
    /// `#[cache_put(tags = [...])]`), lease markers included, and forgets the tags; returns
    /// how many entries were deleted. See [`Leases::invalidate_tags`].
    ///
    /// A cache without the [`leases`](Self::leases) capability records no tags: the answer
    /// is an [`ErrorCode::Delete`] error that says so.
    fn invalidate_tags(
        &self,
        tags: &[&str],
    ) -> impl Future<Output = Result<u64, CacheError>> + Send {
        async move {
            match self.leases() {
                Some(leases) => leases.invalidate_tags(tags).await,
                None => Err(CacheError::new(
                    ErrorCode::Delete,
                    "this cache does not support tags",
                )),
            }
        }
    }

    /// The value at `key` decoded from JSON.
    ///
    /// A value that is not valid JSON for `T` is an [`ErrorCode::Json`](crate::ErrorCode::Json)
    /// error naming the key, never a panic.
    fn get_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<T>, CacheError>> + Send {
        async move {
            match self.get(key).await? {
                Some(raw) => codec::decode(key, &raw).map(Some),
                None => Ok(None),
            }
        }
    }

    /// Stores `value` at `key` as JSON; see [`get_json`](Self::get_json).
    fn set_json<T: Serialize + ?Sized + Sync>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<(), CacheError>> + Send {
        async move {
            let raw = codec::encode(key, value)?;
            self.set(key, &raw, ttl).await
        }
    }
}

/// The Redis-like operations of a cache that application code uses beside cache-aside: key
/// existence and expiry, atomic counters, batches, flush and ping.
///
/// Both adapters implement it with Redis's semantics (one conformance suite runs against
/// both); [`SharedCache`](crate::SharedCache), [`global`](crate::global) and
/// [`from_env`](crate::from_env) hold caches that do.
pub trait KeyValue: Cache {
    /// Whether `key` holds a value (or a lease marker: a load is under way).
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, CacheError>> + Send;

    /// Sets the TTL of an existing key; `false` if there is no such key. A zero `ttl` deletes
    /// the key at once, as Redis's `PEXPIRE key 0` does.
    fn expire(
        &self,
        key: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, CacheError>> + Send;

    /// Atomically adds `amount` to the integer at `key` and returns the new value.
    ///
    /// A missing key counts as 0 (and gets no TTL); an existing key keeps its TTL. A value that
    /// is not a base-10 `i64`, or a result that would overflow, is an
    /// [`ErrorCode::Increment`](crate::ErrorCode::Increment) error and changes nothing.
    fn increment(
        &self,
        key: &str,
        amount: i64,
    ) -> impl Future<Output = Result<i64, CacheError>> + Send;

    /// Atomically subtracts `amount`; otherwise as [`increment`](Self::increment).
    fn decrement(
        &self,
        key: &str,
        amount: i64,
    ) -> impl Future<Output = Result<i64, CacheError>> + Send;

    /// The time `key` has left to live; `None` when it has no TTL or does not exist.
    fn ttl(&self, key: &str) -> impl Future<Output = Result<Option<Duration>, CacheError>> + Send;

    /// Deletes every key of this cache: with a prefix, only the keys under it; without one,
    /// the whole database (Redis's `FLUSHDB`), including the keys of prefixed instances.
    fn flush(&self) -> impl Future<Output = Result<(), CacheError>> + Send;

    /// Checks that the store answers.
    fn ping(&self) -> impl Future<Output = Result<(), CacheError>> + Send;

    /// The values of several keys at once, keyed by the keys as given (a key asked for twice
    /// appears once). An empty slice returns an empty map without asking the store.
    fn get_many(
        &self,
        keys: &[&str],
    ) -> impl Future<Output = Result<HashMap<String, Option<String>>, CacheError>> + Send;

    /// Stores several values at once, all with the same `ttl`. An empty slice does nothing.
    ///
    /// It is not a transaction: when it fails (a timeout, say), some entries may have been
    /// written.
    fn set_many(
        &self,
        entries: &[(&str, &str)],
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<(), CacheError>> + Send;
}

/// What [`Cache::store_id`] returns: which store a handle reaches, for in-process single
/// flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreId {
    /// The address of the handle itself.
    Address(usize),
    /// A zero-sized adapter, by its type's name (compared by contents, so the same type
    /// is the same store in every crate).
    Type(&'static str),
    /// A store made by [`StoreId::fresh`], shared by the handles that keep it.
    Fresh(u64),
}

impl StoreId {
    /// An id no other store has: make one when the shared state of your adapter is made,
    /// and return it from every clone.
    pub fn fresh() -> StoreId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        StoreId::Fresh(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}
