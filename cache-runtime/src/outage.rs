//! The outage capability: what a cache does for invalidations while its store is out of
//! reach, and how it reports its health.

use crate::error::CacheError;
use crate::health::Health;

/// The outage capability of a cache, returned by [`Cache::outage`](crate::Cache::outage).
///
/// An adapter with it keeps the deletions that failed because the store was out of reach
/// (or refused them for a reason that passes), keeps reads of the keys they cover away from
/// the store until they have been replayed, and replays them when the store is back. Its
/// deletions then fail with [`CacheError::is_queued`] set.
pub trait Outage: Send + Sync {
    /// How the cache is doing: its circuit breaker and the deletions waiting for replay.
    fn health(&self) -> Health;

    /// Keeps `invalidation` for when the store is reachable again, without sending anything
    /// now; `true` if it was kept. For a write that failed or timed out (`cause`) while the
    /// entry it should have replaced, or the value it may still land, would otherwise be
    /// served stale; and for the targets of an `#[invalidate]` after one found the store out
    /// of reach, which would each wait as long again. `false` when `cause` says the store
    /// answered (the write was refused, not lost), or the key is not valid for this cache.
    fn queue_deletion(&self, invalidation: Invalidation<'_>, cause: &CacheError) -> bool;
}

/// One deletion to keep for replay: what [`Outage::queue_deletion`] takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalidation<'a> {
    /// An exact key.
    Key(&'a str),
    /// The keys matching a glob pattern, as [`Cache::delete_pattern`](crate::Cache::delete_pattern).
    Pattern(&'a str),
    /// The entries recorded under a tag, as [`Cache::invalidate_tags`](crate::Cache::invalidate_tags).
    Tag(&'a str),
}
