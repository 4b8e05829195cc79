//! Tags in process memory: for each tag of each view, the keys recorded under it.
//!
//! A key's tags are also kept on its entry, and the store's eviction listener takes the key
//! out of them when its entry goes (evicted, expired, deleted, flushed), so the records
//! hold only keys that have an entry: they are bounded by the store's capacity.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A tag of a view: the view's prefix and the tag's name (the pair is what the Redis
/// adapter's tag key encodes, so both confine tags alike).
pub(super) type TagId = (Arc<str>, Arc<str>);

/// The tag records of one store, shared by all its views.
#[derive(Default)]
pub(super) struct TagSets {
    sets: Mutex<HashMap<TagId, HashSet<String>>>,
}

impl TagSets {
    fn sets(&self) -> MutexGuard<'_, HashMap<TagId, HashSet<String>>> {
        self.sets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the full key `key` under each of `tags`.
    pub(super) fn record(&self, key: &str, tags: &[TagId]) {
        let mut sets = self.sets();
        for tag in tags {
            sets.entry(tag.clone()).or_default().insert(key.to_owned());
        }
    }

    /// Takes `key` out of `tags`, for an entry that went; a record left empty goes too.
    pub(super) fn forget(&self, key: &str, tags: &[TagId]) {
        if tags.is_empty() {
            return;
        }
        let mut sets = self.sets();
        for tag in tags {
            if let Some(set) = sets.get_mut(tag) {
                set.remove(key);
                if set.is_empty() {
                    sets.remove(tag);
                }
            }
        }
    }

    /// Forgets the tag and returns the keys recorded under it.
    pub(super) fn take(&self, tag: &TagId) -> Vec<String> {
        self.sets()
            .remove(tag)
            .map(|set| set.into_iter().collect())
            .unwrap_or_default()
    }

    /// Forgets every tag, for a flush of the whole store.
    pub(super) fn clear(&self) {
        self.sets().clear();
    }

    /// How many keys the records hold in all, counting a key once per tag.
    #[cfg(test)]
    pub(super) fn members(&self) -> usize {
        self.sets().values().map(HashSet::len).sum()
    }
}
