//! The port: what application code and generated code know about a cache.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::error::{CacheError, ErrorCode};
use crate::health::Health;
use crate::lease::{DetachedRelease, Lease, LeaseToken, Lookup};

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
///
/// The lease methods ([`lookup`](Self::lookup), [`try_lease`](Self::try_lease),
/// [`set_leased`](Self::set_leased), [`release_lease`](Self::release_lease)) and
/// [`invalidate_tags`](Self::invalidate_tags) are what `#[cached]` uses to keep a load that
/// overlapped an invalidation from being stored, to load a cold key once across processes,
/// and to record tags. Their defaults mean "no leases": an adapter that keeps them works as
/// plain cache-aside, without that protection across processes, and without tags.
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

    // Leases and tags. The defaults keep an adapter that does not implement them working
    // as plain cache-aside: `#[cached]` then loads and stores without a lease, and a tag
    // invalidation fails with an error that says so.

    /// A lease-aware read of `key`, in one round trip like [`get`](Self::get): the value, a
    /// lease held on the key (a load is under way), or nothing. The default reads with
    /// `get`, so it never reports [`Lookup::Loading`].
    fn lookup(&self, key: &str) -> impl Future<Output = Result<Lookup, CacheError>> + Send {
        async move {
            Ok(match self.get(key).await? {
                Some(value) => Lookup::Hit(value),
                None => Lookup::Missing,
            })
        }
    }

    /// Takes a lease on `key` for `lease` if the key holds neither a value nor another
    /// lease, and records `key` under each of `tags`, before the caller loads.
    ///
    /// While the lease holds, the key holds a marker that [`get`](Self::get) and
    /// [`get_many`](Self::get_many) report as missing, and that every deletion of the key
    /// ([`delete`](Self::delete), [`delete_pattern`](Self::delete_pattern),
    /// [`invalidate_tags`](Self::invalidate_tags), [`flush`](Self::flush)) and every write
    /// ([`set`](Self::set)) removes. [`exists`](Self::exists) and [`ttl`](Self::ttl) see the
    /// marker as a key. `ttl` is the TTL the value will be stored with: the tags' records
    /// are kept at least until a value stored within the lease expires. A zero `lease` is an
    /// [`ErrorCode::Set`] error.
    ///
    /// The default answers [`Lease::Unsupported`].
    fn try_lease(
        &self,
        key: &str,
        lease: Duration,
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> impl Future<Output = Result<Lease, CacheError>> + Send {
        let _ = (key, lease, ttl, tags);
        async { Ok(Lease::Unsupported) }
    }

    /// Stores `value` at `key` for `ttl` if the key still holds the marker of `token`'s
    /// lease, atomically; `false` (and nothing written) when an invalidation, a write or
    /// the lease's expiry removed it. The answer is also `false` when the store did write
    /// but its reply was lost and the check was sent again.
    ///
    /// The default is an [`ErrorCode::Set`] error, as the default
    /// [`try_lease`](Self::try_lease) grants no lease.
    fn set_leased(
        &self,
        key: &str,
        token: &LeaseToken,
        value: &str,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<bool, CacheError>> + Send {
        let _ = (token, value, ttl);
        async move { Err(CacheError::new(ErrorCode::Set, "this cache grants no leases").with_key(key)) }
    }

    /// Gives the lease of `token` on `key` back (deletes its marker if it is still there),
    /// for a load whose result is not stored, so that other callers need not wait for the
    /// lease to expire. The default does nothing.
    fn release_lease(
        &self,
        key: &str,
        token: &LeaseToken,
    ) -> impl Future<Output = Result<(), CacheError>> + Send {
        let _ = (key, token);
        async { Ok(()) }
    }

    /// [`release_lease`](Self::release_lease) as a future that borrows nothing, or `None`
    /// when the adapter cannot make one (the default).
    ///
    /// `#[cached]` gives a lease back this way after a body whose result is not stored (an
    /// `Err`, a `None`): the result may not be `Send`, so the call cannot await anything
    /// once it holds it, and the release runs on a task of its own instead. Without it,
    /// callers elsewhere wait for such a lease to expire.
    #[doc(hidden)]
    fn release_lease_detached(&self, key: &str, token: &LeaseToken) -> Option<DetachedRelease> {
        let _ = (key, token);
        None
    }

    /// Deletes every entry recorded under any of `tags` (by a `#[cached(tags = [...])]`
    /// load, through [`try_lease`](Self::try_lease)), lease markers included, and forgets
    /// the tags; returns how many entries were deleted.
    ///
    /// It costs in proportion to the entries under the tags, not to the size of the
    /// keyspace. Tags are names of their own: they are not keys, and patterns never match
    /// them. With a prefix, a tag is confined to the prefix like a key.
    ///
    /// The default is an [`ErrorCode::Delete`] error: an adapter without leases records no
    /// tags.
    fn invalidate_tags(
        &self,
        tags: &[&str],
    ) -> impl Future<Output = Result<u64, CacheError>> + Send {
        let _ = tags;
        async {
            Err(CacheError::new(
                ErrorCode::Delete,
                "this cache does not support tags",
            ))
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
