//! Tags in process memory: for each tag of each view, the keys cached under it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::MemoryCache;
use crate::error::CacheError;
use crate::port::Cache;

/// How many registrations pass between two sweeps of expired tag sets.
const SWEEP_EVERY: u64 = 1024;

/// The tag sets of one store, shared by all its views, by view prefix and tag name (the
/// pair is what the Redis adapter's tag key encodes, so both confine tags alike).
#[derive(Default)]
pub(super) struct TagSets {
    sets: Mutex<HashMap<(String, String), TagSet>>,
    registrations: AtomicU64,
}

/// The keys (full, with their prefix) recorded under one tag, and how long the record
/// must live: at least as long as any value stored under it.
struct TagSet {
    members: HashSet<String>,
    /// `None`: a member was stored without expiry.
    expires_at: Option<Instant>,
}

impl TagSet {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

impl TagSets {
    fn sets(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), TagSet>> {
        self.sets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `full_key` under each of `tags` of the view `prefix`, keeping each record
    /// until `until` at least (`None`: forever).
    pub(super) fn record(
        &self,
        prefix: &str,
        tags: &[&str],
        full_key: &str,
        until: Option<Instant>,
    ) {
        let now = Instant::now();
        let mut sets = self.sets();
        if self.registrations.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            // Tags that nobody invalidates would otherwise stay after their entries expired.
            sets.retain(|_, set| set.is_live(now));
        }
        for &tag in tags {
            let set = sets
                .entry((prefix.to_owned(), tag.to_owned()))
                .or_insert_with(|| TagSet {
                    members: HashSet::new(),
                    expires_at: Some(now),
                });
            if !set.is_live(now) {
                set.members.clear();
                set.expires_at = Some(now);
            }
            set.members.insert(full_key.to_owned());
            set.expires_at = match (set.expires_at, until) {
                (Some(current), Some(until)) => Some(current.max(until)),
                _ => None,
            };
        }
    }

    /// Forgets the tag and returns the keys recorded under it, with the record's expiry.
    fn take(&self, prefix: &str, tag: &str) -> (Vec<String>, Option<Instant>) {
        let now = Instant::now();
        self.sets()
            .remove(&(prefix.to_owned(), tag.to_owned()))
            .filter(|set| set.is_live(now))
            .map(|set| (set.members.into_iter().collect(), set.expires_at))
            .unwrap_or_default()
    }

    /// Records `members` under the tag again, for an invalidation that did not finish.
    fn restore(&self, prefix: &str, tag: &str, members: Vec<String>, until: Option<Instant>) {
        let now = Instant::now();
        let mut sets = self.sets();
        let set = sets
            .entry((prefix.to_owned(), tag.to_owned()))
            .or_insert_with(|| TagSet {
                members: HashSet::new(),
                expires_at: Some(now),
            });
        set.members.extend(members);
        set.expires_at = match (set.expires_at, until) {
            (Some(current), Some(until)) => Some(current.max(until)),
            _ => None,
        };
    }

    /// Forgets every tag of the views under `prefix`, for a flush.
    pub(super) fn forget_under(&self, prefix: &str) {
        self.sets().retain(|(view, _), _| !view.starts_with(prefix));
    }
}

impl MemoryCache {
    pub(super) async fn tags_invalidate(&self, tags: &[&str]) -> Result<u64, CacheError> {
        let mut deleted = 0;
        for &tag in tags {
            let (members, until) = self.tags.take(&self.prefix, tag);
            let mut left = Left {
                tags: &self.tags,
                prefix: &self.prefix,
                tag,
                members,
                until,
            };
            while let Some(member) = left.members.last() {
                // Every member was recorded through this view's prefix.
                if let Some(key) = member.strip_prefix(&*self.prefix)
                    && self.delete(key).await?
                {
                    deleted += 1;
                }
                left.members.pop();
            }
        }
        Ok(deleted)
    }
}

/// The members of a taken tag not deleted yet: recorded under the tag again if the
/// invalidation stops early (an error, or the call dropped at an await), so that the next
/// invalidation of the tag still finds them.
struct Left<'a> {
    tags: &'a TagSets,
    prefix: &'a str,
    tag: &'a str,
    members: Vec<String>,
    until: Option<Instant>,
}

impl Drop for Left<'_> {
    fn drop(&mut self) {
        if !self.members.is_empty() {
            let members = std::mem::take(&mut self.members);
            self.tags
                .restore(self.prefix, self.tag, members, self.until);
        }
    }
}
