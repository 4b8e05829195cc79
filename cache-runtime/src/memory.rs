//! The in-process adapter: the embedded default, with Redis semantics on top of `moka`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::notification::RemovalCause;
use moka::ops::compute::{CompResult, Op};
use moka::sync::Cache as Store;

use crate::error::{CacheError, ErrorCode};
use crate::lease::{LeaseToken, Leases};
use crate::limits::Limits;
use crate::port::{Cache, KeyValue, StoreId};
use crate::rate_limit::RateLimits;
use crate::view::View;
use crate::{counter, expiry, glob};

mod lease;
mod rate_limit;
mod tags;

use rate_limit::Windows;
use tags::{TagId, TagSets};

/// How many entries a [`MemoryCache`] holds by default before it starts evicting.
pub const DEFAULT_MAX_CAPACITY: u64 = 100_000;

/// A cache in process memory that behaves like Redis for every [`Cache`] operation.
///
/// It is the embedded default (see [`global`](crate::global)): tests and local runs need no
/// server. TTLs (to the millisecond), atomic counters, error cases and glob patterns follow
/// Redis; one conformance suite runs against both. The differences:
/// - it is bounded ([`DEFAULT_MAX_CAPACITY`] entries unless configured), and once full it
///   evicts by `moka`'s TinyLFU policy, which may also decline to admit a rarely used entry;
/// - `get_many` and `set_many` are a sequence of single-key operations, so a concurrent
///   reader may see part of a `set_many`, where Redis's `MGET`/`MSET` are atomic;
/// - rate-limit windows ([`RateLimiter`](crate::RateLimiter)) are kept apart from the entries,
///   as many as the capacity again: `delete`, patterns and `flush` forget them as on Redis,
///   but `get`, `exists` and `ttl` do not see them.
///
/// Cloning is cheap and clones share the same entries. [`with_prefix`](Self::with_prefix)
/// gives a view of the same entries confined to another namespace.
///
/// It is built on `moka`'s synchronous cache: every operation finishes without waiting, so
/// its futures are ready at once and a lease is given back from `Drop` on the spot. Tags
/// are recorded on the entries themselves, and an entry leaves its tags' records when it
/// is evicted, expires or is deleted: the records never outgrow the capacity.
///
/// ```
/// use cache_aside::prelude::*;
/// use cache_aside::MemoryCache;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_aside::CacheError> {
/// let cache = MemoryCache::new();
/// cache.set("greeting", "hello", None).await?;
/// assert_eq!(cache.get("greeting").await?.as_deref(), Some("hello"));
///
/// let tenant = cache.with_prefix("tenant-7:");
/// assert_eq!(tenant.get("greeting").await?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryCache {
    store: Store<String, Entry>,
    /// The tags' records, shared by every view of the store.
    tags: Arc<TagSets>,
    /// The rate-limit windows, apart from the entries; shared by every view of the store.
    windows: Windows,
    view: View,
}

/// Builds a [`MemoryCache`] with a capacity or a prefix.
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryCacheBuilder {
    max_capacity: u64,
    prefix: String,
    limits: Limits,
}

#[derive(Clone)]
struct Entry {
    value: Arc<str>,
    expires_at: Option<Instant>,
    /// `Some` for a lease marker (with an empty `value`): see `memory/lease.rs`.
    lease: Option<LeaseToken>,
    /// The tags the key is recorded under; carried over when the entry is replaced, so that
    /// the key leaves them when its last entry goes.
    tags: Arc<[TagId]>,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    /// A value replacing `current` (whose tags it keeps).
    fn value(value: Arc<str>, expires_at: Option<Instant>, current: Option<&Entry>) -> Self {
        Entry {
            value,
            expires_at,
            lease: None,
            tags: current.map_or_else(|| Arc::from([]), |entry| Arc::clone(&entry.tags)),
        }
    }
}

/// Lets moka drop entries when their own deadline passes, so expired entries do not use
/// capacity; reads still check the deadline themselves, to the instant.
struct EntryExpiry;

impl EntryExpiry {
    fn remaining(entry: &Entry, now: Instant) -> Option<Duration> {
        entry.expires_at.map(|at| at.saturating_duration_since(now))
    }
}

impl Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &String, entry: &Entry, now: Instant) -> Option<Duration> {
        Self::remaining(entry, now)
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Self::remaining(entry, now)
    }
}

impl MemoryCacheBuilder {
    /// The most entries to hold (default [`DEFAULT_MAX_CAPACITY`]).
    pub fn max_capacity(mut self, entries: u64) -> Self {
        self.max_capacity = entries;
        self
    }

    /// Confines the cache to keys under `prefix`, as [`MemoryCache::with_prefix`] does.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest value stored, in bytes (default
    /// [`DEFAULT_MAX_VALUE_SIZE`](crate::DEFAULT_MAX_VALUE_SIZE)), as in
    /// [`RedisCacheBuilder::max_value_size`](crate::RedisCacheBuilder::max_value_size).
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.limits.max_value_size = bytes;
        self
    }

    /// The longest key, prefix included, in bytes (default
    /// [`DEFAULT_MAX_KEY_SIZE`](crate::DEFAULT_MAX_KEY_SIZE)). Every operation on a longer
    /// one fails with [`ErrorCode::KeyTooLarge`], as in `RedisCache`.
    pub fn max_key_size(mut self, bytes: usize) -> Self {
        self.limits.max_key_size = bytes;
        self
    }

    /// Builds the cache.
    pub fn build(self) -> MemoryCache {
        let tags = Arc::new(TagSets::default());
        let records = Arc::clone(&tags);
        let store = Store::builder()
            .max_capacity(self.max_capacity)
            .expire_after(EntryExpiry)
            .eviction_listener(move |key: Arc<String>, entry: Entry, cause| {
                // A replaced entry's tags went to its successor.
                if cause != RemovalCause::Replaced {
                    records.forget(&key, &entry.tags);
                }
            })
            .build();
        MemoryCache {
            store,
            tags,
            windows: Windows::new(self.max_capacity),
            view: View::new(&self.prefix, self.limits),
        }
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache")
            .field("prefix", &self.view.prefix())
            .field("entries", &self.store.entry_count())
            .finish()
    }
}

impl MemoryCache {
    /// An empty cache holding at most [`DEFAULT_MAX_CAPACITY`] entries.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// An empty cache holding at most `entries` entries.
    pub fn with_capacity(entries: u64) -> Self {
        Self::builder().max_capacity(entries).build()
    }

    /// A builder for a capacity or a prefix.
    pub fn builder() -> MemoryCacheBuilder {
        MemoryCacheBuilder {
            max_capacity: DEFAULT_MAX_CAPACITY,
            prefix: String::new(),
            limits: Limits::default(),
        }
    }

    /// A view of the same entries confined to keys under this view's prefix followed by
    /// `prefix`: it cannot see, flush or pattern-delete keys outside it. Views only narrow, so
    /// a handle to a namespace cannot make one that reaches keys outside it.
    #[must_use]
    pub fn with_prefix(&self, prefix: &str) -> Self {
        MemoryCache {
            store: self.store.clone(),
            tags: Arc::clone(&self.tags),
            windows: self.windows.clone(),
            view: self.view.narrowed(prefix),
        }
    }

    /// The prefix this view adds to every key.
    pub fn prefix(&self) -> &str {
        self.view.prefix()
    }

    fn live_entry(&self, key: &str) -> Option<Entry> {
        let entry = self.store.get(self.view.full_key(key).as_ref())?;
        entry.is_live(Instant::now()).then_some(entry)
    }

    /// Replaces the entry at `key` with `value`; every write goes through moka's per-key
    /// compute lock so that writes and counters on one key are serialised, as in Redis.
    fn put(&self, key: &str, value: Arc<str>, expires_at: Option<Instant>) {
        self.store
            .entry_by_ref(self.view.full_key(key).as_ref())
            .and_compute_with(|current| {
                Op::Put(Entry::value(
                    value,
                    expires_at,
                    current.as_ref().map(|e| e.value()),
                ))
            });
    }

    /// When a TTL of `millis` from now runs out. `expiry::MAX_TTL` keeps this far from
    /// `Instant`'s limits, so `None` (no expiry) is never the answer for a real TTL.
    fn deadline(millis: u64) -> Option<Instant> {
        Instant::now().checked_add(Duration::from_millis(millis))
    }

    fn add(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        self.view.check_key(key)?;
        let result = self
            .store
            .entry_by_ref(self.view.full_key(key).as_ref())
            .and_try_compute_with(|current| {
                let current = current
                    .map(|entry| entry.into_value())
                    .filter(|entry| entry.is_live(Instant::now()));
                let value = counter::add(current.as_ref().map(|e| &*e.value), amount, key)?;
                let expires_at = current.as_ref().and_then(|entry| entry.expires_at);
                let entry = Entry::value(value.to_string().into(), expires_at, current.as_ref());
                Ok::<_, CacheError>(Op::Put(entry))
            })?;
        let stored = match result {
            CompResult::Inserted(entry) | CompResult::ReplacedWith(entry) => {
                counter::parse(&entry.into_value().value)
            }
            _ => None,
        };
        // Unreachable: the closure either failed above or put a formatted integer.
        stored.ok_or_else(|| {
            CacheError::new(ErrorCode::Increment, "counter was not stored").with_key(key)
        })
    }

    /// Removes the entry at the full key `full_key`; whether a live one was there.
    fn remove(&self, full_key: &str) -> bool {
        let result = self
            .store
            .entry_by_ref(full_key)
            .and_compute_with(|current| match current {
                Some(_) => Op::Remove,
                None => Op::Nop,
            });
        match result {
            CompResult::Removed(entry) => entry.into_value().is_live(Instant::now()),
            _ => false,
        }
    }

    /// Every live key (full) matching the full glob `pattern`.
    fn matching(&self, pattern: &str) -> Vec<Arc<String>> {
        let now = Instant::now();
        self.store
            .iter()
            .filter(|(key, entry)| {
                entry.is_live(now) && glob::matches(pattern.as_bytes(), key.as_bytes())
            })
            .map(|(key, _)| key)
            .collect()
    }
}

impl Cache for MemoryCache {
    /// Clones of a view share it; every view has its own, since views with different
    /// prefixes hold different entries.
    fn store_id(&self) -> StoreId {
        self.view.store_id()
    }

    fn leases(&self) -> Option<&dyn Leases> {
        Some(self)
    }

    fn rate_limits(&self) -> Option<&dyn RateLimits> {
        Some(self)
    }

    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        self.view.check_key(key)?;
        // A lease marker is not a value.
        Ok(self
            .live_entry(key)
            .filter(|entry| entry.lease.is_none())
            .map(|entry| entry.value.to_string()))
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        self.view.check_entry(key, value)?;
        let expires_at = match ttl {
            Some(ttl) => Self::deadline(expiry::write_millis(ttl, ErrorCode::Set, key)?),
            None => None,
        };
        self.put(key, value.into(), expires_at);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        self.view.check_key(key)?;
        let full_key = self.view.full_key(key);
        // A rate-limit window is a key too, as on Redis.
        let window = self.windows.remove(&full_key);
        Ok(self.remove(&full_key) || window)
    }

    async fn delete_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
        let full_pattern = self.view.full_pattern(pattern);
        let matching = self.matching(&full_pattern);
        let windows = self.windows.remove_matching(&full_pattern);
        Ok(matching.iter().filter(|key| self.remove(key)).count() as u64 + windows)
    }
}

impl KeyValue for MemoryCache {
    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        self.view.check_key(key)?;
        Ok(self.live_entry(key).is_some())
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        self.view.check_key(key)?;
        let millis = expiry::expire_millis(ttl, ErrorCode::Expire, key)?;
        let result = self
            .store
            .entry_by_ref(self.view.full_key(key).as_ref())
            .and_compute_with(|current| match current.map(|entry| entry.into_value()) {
                Some(entry) if entry.is_live(Instant::now()) => {
                    if millis == 0 {
                        Op::Remove
                    } else {
                        Op::Put(Entry {
                            expires_at: Self::deadline(millis),
                            ..entry
                        })
                    }
                }
                Some(_) => Op::Remove,
                None => Op::Nop,
            });
        Ok(match result {
            CompResult::ReplacedWith(_) => true,
            CompResult::Removed(entry) => millis == 0 && entry.into_value().is_live(Instant::now()),
            _ => false,
        })
    }

    async fn increment(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        self.add(key, amount)
    }

    async fn decrement(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        self.add(key, counter::negate(amount, key)?)
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        self.view.check_key(key)?;
        let now = Instant::now();
        Ok(self
            .live_entry(key)
            .and_then(|entry| entry.expires_at)
            // Whole milliseconds, rounded up: right after a write Redis's PTTL reports the full
            // TTL, not a millisecond less.
            .map(|at| {
                let nanos = at.saturating_duration_since(now).as_nanos();
                Duration::from_millis(u64::try_from(nanos.div_ceil(1_000_000)).unwrap_or(u64::MAX))
            }))
    }

    async fn flush(&self) -> Result<(), CacheError> {
        if self.view.prefix().is_empty() {
            self.store.invalidate_all();
            // Entries leave their tags' records as moka removes them; the records go now.
            self.tags.clear();
            self.windows.clear();
        } else {
            let everything = self.view.full_pattern("*");
            for key in self.matching(&everything) {
                self.remove(&key);
            }
            self.windows.remove_matching(&everything);
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    async fn get_many(&self, keys: &[&str]) -> Result<HashMap<String, Option<String>>, CacheError> {
        let mut values = HashMap::with_capacity(keys.len());
        for &key in keys {
            values.insert(key.to_owned(), self.get(key).await?);
        }
        Ok(values)
    }

    async fn set_many(
        &self,
        entries: &[(&str, &str)],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let millis = match (ttl, entries.first()) {
            (Some(ttl), Some((key, _))) => {
                Some(expiry::write_millis(ttl, ErrorCode::MultiSet, key)?)
            }
            _ => None,
        };
        // All checked first: a rejected entry stores none of them, as in Redis.
        for &(key, value) in entries {
            self.view.check_entry(key, value)?;
        }
        for &(key, value) in entries {
            self.put(key, value.into(), millis.and_then(Self::deadline));
        }
        Ok(())
    }
}
