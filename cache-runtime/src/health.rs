//! How a cache is doing: its circuit breaker and its deletions waiting for replay, as
//! [`Cache::health`](crate::Cache::health) reports them.

/// Whether a cache's operations are sent to the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BreakerState {
    /// Operations are sent as usual.
    #[default]
    Closed,
    /// Operations fail at once with [`ErrorCode::CircuitOpen`](crate::ErrorCode::CircuitOpen)
    /// without being sent: the store failed repeatedly, or deletions that failed are waiting
    /// to be replayed. Callers of `#[cached]` functions get the body's result.
    Open,
    /// Still open for callers, while one probe checks whether the store is back and replays
    /// the waiting deletions.
    HalfOpen,
}

/// A snapshot of a cache's health, from [`Cache::health`](crate::Cache::health).
///
/// The counts of events (`times_opened`, `rejected`, `replayed_invalidations`,
/// `dropped_invalidations`) only grow, from the cache's construction; all of it is shared by
/// the cache's clones and views. An adapter without a breaker (such as [`MemoryCache`](crate::MemoryCache))
/// reports the default: closed, and every counter zero.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// Whether operations are sent to the store.
    pub state: BreakerState,
    /// Connection failures and timeouts in a row since the last success.
    pub consecutive_failures: u32,
    /// How often the breaker has opened.
    pub times_opened: u64,
    /// Operations failed at once, without being sent, because the breaker was open or a
    /// waiting deletion covered their key.
    pub rejected: u64,
    /// Deletions that failed (or were rejected) during an outage and are waiting to be
    /// replayed.
    pub pending_invalidations: usize,
    /// Waiting deletions that have been replayed successfully.
    pub replayed_invalidations: u64,
    /// Deletions the server refused for good (such as `NOPERM`), when asked for or when
    /// replayed: given up, so their entries may be served until their TTL ends. (Deletions
    /// folded into wider patterns when too many wait are replayed, not dropped.)
    pub dropped_invalidations: u64,
}
