//! The port: what application code and generated code know about a cache.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::error::CacheError;
use crate::health::Health;

/// A key-value cache with Redis semantics: the port of the hexagon.
///
/// Application code, and the code that `#[cached]` generates, depend on this trait only. The
/// adapters ([`MemoryCache`](crate::MemoryCache), and `RedisCache` with the `redis` feature)
/// implement it, and so can your own: implement the required methods (with `async fn` if you
/// like; the returned futures must be `Send`) and the JSON helpers come for free.
///
/// Every method returns a `Send` future, so calls can be moved into `tokio::spawn`, also from
/// generic code over `C: Cache`. To hold "some cache" without naming its type, use
/// [`SharedCache`](crate::SharedCache).
///
/// Keys and values are UTF-8 strings. A TTL is rounded up to whole milliseconds; a `ttl` of
/// `None` means "no expiry".
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

    /// Whether `key` holds a value.
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

    /// Deletes every key matching a Redis glob pattern (`*`, `?`, `[a-z]`, `[^x]`, `\`
    /// escapes) and returns how many were deleted. With a prefix, the pattern applies to the
    /// part of the key after it, and only keys under the prefix can match.
    ///
    /// It walks the whole keyspace (in batches, never blocking the store), so its cost grows
    /// with the number of keys, not with the number deleted.
    fn delete_pattern(&self, pattern: &str)
    -> impl Future<Output = Result<u64, CacheError>> + Send;

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

    /// Which store this handle reaches, for in-process single flight: concurrent
    /// `#[cached]` misses share a load, and an `#[invalidate]` marks loads stale, only
    /// between caches of the same identity.
    ///
    /// The default is the address of `self`, or for a zero-sized adapter (which has no
    /// address of its own) its type's name. Handles that forward to another cache (`&C`,
    /// `Arc<C>`, [`SharedCache`](crate::SharedCache)) return that cache's identity, and the
    /// adapters of this crate one that their clones share and every view has its own. Two
    /// handles onto one store may differ (their calls then simply do not share loads); two
    /// different stores never compare equal while both are alive. An adapter whose clones
    /// reach the same store can return a shared [`Identity::View`] from
    /// [`Identity::fresh`].
    #[doc(hidden)]
    fn identity(&self) -> Identity {
        if std::mem::size_of_val(self) == 0 {
            return Identity::Type(std::any::type_name::<Self>());
        }
        Identity::Address((self as *const Self).cast::<()>() as usize)
    }

    /// Keeps a deletion of `key` for when the store is reachable again, without sending
    /// anything now; `true` if the adapter did. For a write that failed because the store
    /// was out of reach (`cause`), where the entry it should have replaced would otherwise
    /// be served after the outage. The default keeps nothing.
    #[doc(hidden)]
    fn delete_later(&self, key: &str, cause: &CacheError) -> bool {
        let _ = (key, cause);
        false
    }

    /// How the cache is doing: its circuit breaker and the deletions waiting for replay.
    ///
    /// The default, for adapters without a breaker, reports a closed breaker and zero
    /// counts. Handles that forward to another cache report that cache's health.
    fn health(&self) -> Health {
        Health::default()
    }

    /// The value at `key` decoded from JSON.
    ///
    /// A value that is not valid JSON for `T` is an [`ErrorCode::Json`](crate::ErrorCode::Json)
    /// error naming the key, never a panic. Adapters normally keep this default, which is
    /// [`get`](Self::get) followed by `serde_json`; [`SharedCache`](crate::SharedCache) always
    /// uses it.
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

/// What [`Cache::identity`] returns: which store a handle reaches.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    /// The address of the handle itself.
    Address(usize),
    /// A zero-sized adapter, by its type's name (compared by contents, so the same type
    /// is the same identity in every crate).
    Type(&'static str),
    /// A view made by [`Identity::fresh`], shared by the view's clones.
    View(u64),
}

impl Identity {
    /// An identity no other view has.
    pub fn fresh() -> Identity {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Identity::View(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}
