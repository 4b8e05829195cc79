//! Leases in process memory: a marker entry per key, taken, replaced and removed through
//! moka's per-key compute lock, so that each step is atomic like its Lua script on Redis.

use std::time::{Duration, Instant};

use moka::ops::compute::{CompResult, Op};

use super::{Entry, MemoryCache};
use crate::error::{CacheError, ErrorCode};
use crate::expiry;
use crate::lease::{Lease, LeaseToken, Lookup};

impl MemoryCache {
    pub(super) async fn lease_lookup(&self, key: &str) -> Lookup {
        match self.live_entry(key).await {
            Some(entry) if entry.lease.is_some() => Lookup::Loading,
            Some(entry) => Lookup::Hit(entry.value.to_string()),
            None => Lookup::Missing,
        }
    }

    /// Puts a marker at `key` unless a live entry (a value or a marker) is there, then
    /// records the key under `tags`: both before the caller loads, so that an
    /// invalidation during the load finds and removes the marker.
    pub(super) async fn lease_take(
        &self,
        key: &str,
        lease: Duration,
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<Lease, CacheError> {
        let lease_ms = expiry::write_millis(lease, ErrorCode::Set, key)?;
        let token = LeaseToken::new();
        let marker = Entry {
            value: "".into(),
            expires_at: Self::deadline(lease_ms),
            lease: Some(token.clone()),
        };
        let result = self
            .store
            .entry_by_ref(self.full_key(key).as_ref())
            .and_compute_with(|current| async move {
                match current.map(|entry| entry.into_value()) {
                    Some(entry) if entry.is_live(Instant::now()) => Op::Nop,
                    _ => Op::Put(marker),
                }
            })
            .await;
        if !tags.is_empty() {
            // A value stored within the lease lives until `lease + ttl` from now at most;
            // without a TTL, forever.
            let until = ttl
                .and_then(|_| Self::deadline(lease_ms.saturating_add(expiry::record_millis(ttl))));
            self.tags
                .record(&self.prefix, tags, &self.full_key(key), until);
        }
        Ok(match result {
            CompResult::Inserted(_) | CompResult::ReplacedWith(_) => Lease::Granted(token),
            _ => Lease::Taken,
        })
    }

    /// Replaces the marker of `token` with `value`, if the marker is still there.
    pub(super) async fn lease_store(
        &self,
        key: &str,
        token: &LeaseToken,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let expires_at = match ttl {
            Some(ttl) => Self::deadline(expiry::write_millis(ttl, ErrorCode::Set, key)?),
            None => None,
        };
        let entry = Entry {
            value: value.into(),
            expires_at,
            lease: None,
        };
        let result = self
            .store
            .entry_by_ref(self.full_key(key).as_ref())
            .and_compute_with(|current| async move {
                match current.map(|entry| entry.into_value()) {
                    Some(held)
                        if held.is_live(Instant::now()) && held.lease.as_ref() == Some(token) =>
                    {
                        Op::Put(entry)
                    }
                    _ => Op::Nop,
                }
            })
            .await;
        Ok(matches!(result, CompResult::ReplacedWith(_)))
    }

    /// Removes the marker of `token`, if it is still there.
    pub(super) async fn lease_release(&self, key: &str, token: &LeaseToken) {
        self.store
            .entry_by_ref(self.full_key(key).as_ref())
            .and_compute_with(|current| async move {
                match current.map(|entry| entry.into_value()) {
                    Some(held) if held.lease.as_ref() == Some(token) => Op::Remove,
                    _ => Op::Nop,
                }
            })
            .await;
    }
}
