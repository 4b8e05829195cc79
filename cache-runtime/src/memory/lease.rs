//! Leases and tags in process memory: a marker entry per key, taken, replaced and removed
//! through moka's per-key compute lock, so that each step is atomic like its Lua script on
//! Redis. Every step finishes at once, so the futures are ready when made.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::ops::compute::{CompResult, Op};

use super::tags::TagId;
use super::{Entry, MemoryCache};
use crate::error::{CacheError, ErrorCode};
use crate::expiry;
use crate::lease::{Lease, LeaseToken, Leases};
use crate::port::BoxFuture;

impl Leases for MemoryCache {
    fn try_lease<'a>(
        &'a self,
        key: &'a str,
        token: &'a LeaseToken,
        lease: Duration,
        _ttl: Option<Duration>,
        tags: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Lease, CacheError>> {
        Box::pin(std::future::ready(self.lease_take(key, token, lease, tags)))
    }

    fn set_leased<'a>(
        &'a self,
        key: &'a str,
        token: &'a LeaseToken,
        value: &'a str,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<bool, CacheError>> {
        Box::pin(std::future::ready(self.lease_store(key, token, value, ttl)))
    }

    fn release(&self, key: &str, token: &LeaseToken, _lease: Duration) {
        self.store
            .entry_by_ref(self.view.full_key(key).as_ref())
            .and_compute_with(|current| match current.map(|entry| entry.into_value()) {
                Some(held) if held.lease.as_ref() == Some(token) => Op::Remove,
                _ => Op::Nop,
            });
    }

    fn record_tags<'a>(
        &'a self,
        key: &'a str,
        _ttl: Option<Duration>,
        tags: &'a [&'a str],
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(std::future::ready(self.tag_existing(key, tags)))
    }

    fn invalidate_tags<'a>(
        &'a self,
        tags: &'a [&'a str],
    ) -> BoxFuture<'a, Result<u64, CacheError>> {
        let mut deleted = 0;
        for &tag in tags {
            for key in self.tags.take(&self.tag_id(tag)) {
                if self.remove(&key) {
                    deleted += 1;
                }
            }
        }
        Box::pin(std::future::ready(Ok(deleted)))
    }
}

impl MemoryCache {
    fn tag_id(&self, tag: &str) -> TagId {
        (self.view.prefix().into(), tag.into())
    }

    /// `tags` of this view, added to those an entry already has.
    fn with_tags(&self, current: Option<&Entry>, tags: &[&str]) -> Arc<[TagId]> {
        let mut all: Vec<TagId> = current.map(|entry| entry.tags.to_vec()).unwrap_or_default();
        for &tag in tags {
            let tag = self.tag_id(tag);
            if !all.contains(&tag) {
                all.push(tag);
            }
        }
        all.into()
    }

    /// Puts a marker at `key` unless a live entry (a value or a marker) is there, recording
    /// the key under `tags`: both before the caller loads, so that an invalidation during
    /// the load finds and removes the marker.
    fn lease_take(
        &self,
        key: &str,
        token: &LeaseToken,
        lease: Duration,
        tags: &[&str],
    ) -> Result<Lease, CacheError> {
        self.view.check_key(key)?;
        let lease_ms = expiry::write_millis(lease, ErrorCode::Set, key)?;
        let mut found = Lease::Granted;
        let result = self
            .store
            .entry_by_ref(self.view.full_key(key).as_ref())
            .and_compute_with(|current| {
                let current = current.map(|entry| entry.into_value());
                match current {
                    Some(entry) if entry.is_live(Instant::now()) => {
                        found = match &entry.lease {
                            Some(holder) if holder == token => Lease::Granted,
                            Some(holder) => Lease::Loading(holder.clone()),
                            None => Lease::Filled(entry.value.to_string()),
                        };
                        // Recorded under the tags whatever it holds, as on Redis: the value
                        // there (or the one the other holder stores) is this key's.
                        if tags.is_empty() {
                            return Op::Nop;
                        }
                        let tags = self.with_tags(Some(&entry), tags);
                        Op::Put(Entry { tags, ..entry })
                    }
                    current => Op::Put(Entry {
                        value: "".into(),
                        expires_at: Self::deadline(lease_ms),
                        lease: Some(token.clone()),
                        tags: self.with_tags(current.as_ref(), tags),
                    }),
                }
            });
        if let CompResult::Inserted(entry) | CompResult::ReplacedWith(entry) = result {
            let tags = Arc::clone(&entry.value().tags);
            self.tags.record(entry.key(), &tags);
        }
        Ok(found)
    }

    /// Replaces the marker of `token` with `value`, if the marker is still there.
    fn lease_store(
        &self,
        key: &str,
        token: &LeaseToken,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        self.view.check_entry(key, value)?;
        let expires_at = match ttl {
            Some(ttl) => Self::deadline(expiry::write_millis(ttl, ErrorCode::Set, key)?),
            None => None,
        };
        let result = self
            .store
            .entry_by_ref(self.view.full_key(key).as_ref())
            .and_compute_with(|current| match current.map(|entry| entry.into_value()) {
                Some(held)
                    if held.is_live(Instant::now()) && held.lease.as_ref() == Some(token) =>
                {
                    Op::Put(Entry::value(value.into(), expires_at, Some(&held)))
                }
                _ => Op::Nop,
            });
        Ok(matches!(result, CompResult::ReplacedWith(_)))
    }

    /// Records an existing entry at `key` under `tags`, for a put that stores it next. A key
    /// with no entry gets a short marker that nobody holds, which the put replaces; should
    /// the put not come, it expires and leaves the tags.
    fn tag_existing(&self, key: &str, tags: &[&str]) -> Result<(), CacheError> {
        self.view.check_key(key)?;
        if tags.is_empty() {
            return Ok(());
        }
        let result = self
            .store
            .entry_by_ref(self.view.full_key(key).as_ref())
            .and_compute_with(|current| {
                let current = current.map(|entry| entry.into_value());
                let tags = self.with_tags(current.as_ref(), tags);
                Op::Put(match current {
                    Some(entry) if entry.is_live(Instant::now()) => Entry { tags, ..entry },
                    _ => Entry {
                        value: "".into(),
                        expires_at: Self::deadline(PLACEHOLDER_MS),
                        lease: Some(LeaseToken::new()),
                        tags,
                    },
                })
            });
        if let CompResult::Inserted(entry) | CompResult::ReplacedWith(entry) = result {
            let tags = Arc::clone(&entry.value().tags);
            self.tags.record(entry.key(), &tags);
        }
        Ok(())
    }
}

/// How long the marker of [`MemoryCache::tag_existing`] lives without the put it announces.
const PLACEHOLDER_MS: u64 = 1_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::Cache;

    #[test]
    fn tag_records_leave_with_their_entries() {
        let cache = MemoryCache::with_capacity(100);
        for n in 0..5_000 {
            let key = format!("k{n}");
            let token = LeaseToken::new();
            let lease = cache.lease_take(&key, &token, Duration::from_secs(60), &["a", "b"]);
            assert_eq!(lease.unwrap(), Lease::Granted);
        }
        cache.store.run_pending_tasks();
        let members = cache.tags.members();
        // Each live entry is under two tags; moka may hold a little over its capacity.
        assert!(
            members <= 2 * 200,
            "{members} tag records for a capacity of 100"
        );
        let live = cache.store.entry_count() as usize;
        assert_eq!(members, 2 * live, "records follow the entries");
        let deleted = futures_ready(Cache::invalidate_tags(&cache, &["a"]));
        assert_eq!(deleted.unwrap() as usize, live);
        cache.store.run_pending_tasks();
        assert_eq!(cache.tags.members(), 0, "deleted entries left tag b too");
    }

    /// The value of a future that is ready at once, as every memory operation is.
    fn futures_ready<T>(future: impl std::future::Future<Output = T>) -> T {
        let mut future = std::pin::pin!(future);
        let waker = std::task::Waker::noop();
        match future
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
        {
            std::task::Poll::Ready(value) => value,
            std::task::Poll::Pending => panic!("a memory operation waited"),
        }
    }
}
