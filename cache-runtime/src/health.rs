//! How a cache is doing: its circuit breaker and its deletions waiting for replay, as
//! [`Cache::health`](crate::Cache::health) reports them.

use std::fmt;

use serde::{Serialize, Serializer};

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

impl BreakerState {
    /// The state's name: `"closed"`, `"open"` or `"half_open"`, as it is displayed,
    /// serialized, and labelled in the `metrics` feature's `cache_aside_breaker_state`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Serialized as its [`as_str`](BreakerState::as_str) name.
impl Serialize for BreakerState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A snapshot of a cache's health, from [`Cache::health`](crate::Cache::health).
///
/// The counts of events (`times_opened`, `rejected`, `replayed_invalidations`,
/// `dropped_invalidations`) only grow, from the cache's construction; all of it is shared by
/// the cache's clones and views. An adapter without a breaker (such as [`MemoryCache`](crate::MemoryCache))
/// reports the default: closed, and every counter zero.
///
/// It serializes (`serde`) as an object of its fields, the state as its name, and displays
/// as one line:
/// ```
/// let health = cache_aside::Health::default();
/// assert_eq!(
///     health.to_string(),
///     "breaker closed, 0 failures in a row, opened 0 times, 0 rejected; \
///      invalidations: 0 pending, 0 replayed, 0 dropped"
/// );
/// let json = serde_json::to_value(&health).unwrap();
/// assert_eq!(json["state"], "closed");
/// assert_eq!(json["pending_invalidations"], 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "breaker {}, {} failures in a row, opened {} times, {} rejected; \
             invalidations: {} pending, {} replayed, {} dropped",
            self.state,
            self.consecutive_failures,
            self.times_opened,
            self.rejected,
            self.pending_invalidations,
            self.replayed_invalidations,
            self.dropped_invalidations,
        )
    }
}
