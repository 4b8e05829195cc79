//! Leases: what closes the race between a load and an invalidation, and lets one caller
//! load a cold key while callers in other processes wait for its value.
//!
//! The design is the one of "Scaling Memcache at Facebook" (NSDI 2013, section 3.2.1). A
//! caller that misses takes a lease on the key: a *marker* stored in the key itself, holding
//! a random token, that only lives for a short time. Every invalidation (a key, a pattern, a
//! tag, a flush) deletes the marker with the value, and the loader's final write stores its
//! value only if its marker is still there. A load that read the database before a write
//! whose invalidation came during the load therefore never lands.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::CacheError;

/// How long a `#[cached]` lease lives by default, unless the attribute says `lease = ...`.
///
/// A body that runs longer than its lease still returns its value, but does not store it;
/// callers in other processes wait for the value at most this long before loading for
/// themselves.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// A lease's release that owns what it needs, so it can run on its own task: what
/// [`Cache::release_lease_detached`](crate::Cache::release_lease_detached) returns.
#[doc(hidden)]
pub type DetachedRelease = Pin<Box<dyn Future<Output = Result<(), CacheError>> + Send>>;

/// The first bytes of every lease marker. `0xFF` never occurs in UTF-8, and values stored
/// through the port are `String`s, so a marker can never be mistaken for a cached value.
pub(crate) const MARKER_PREFIX: &[u8] = b"\xFFcache-aside:lease:";

/// What a lease-aware read ([`Cache::lookup`](crate::Cache::lookup)) found at a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup {
    /// A cached value.
    Hit(String),
    /// No value, but a caller (in this process or another) holds a lease on the key and is
    /// loading it.
    Loading,
    /// Neither a value nor a lease.
    Missing,
}

/// The answer of [`Cache::try_lease`](crate::Cache::try_lease).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lease {
    /// The caller holds the lease: it loads, then stores with
    /// [`Cache::set_leased`](crate::Cache::set_leased) (or gives the lease back with
    /// [`Cache::release_lease`](crate::Cache::release_lease)).
    Granted(LeaseToken),
    /// The key holds a value or another caller's lease.
    Taken,
    /// The adapter has no leases: the caller loads and stores with a plain `set`, without
    /// protection against the race.
    Unsupported,
}

/// The random token of one lease, which only its holder knows.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LeaseToken(String);

impl LeaseToken {
    /// A fresh token: 128 random bits, unique with overwhelming probability across
    /// processes and hosts.
    ///
    /// The randomness comes from the standard library's per-thread random hash keys, which
    /// the OS seeds, so no random-number crate is needed.
    pub fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let random = || {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            hasher.finish()
        };
        LeaseToken(format!("{:016x}{:016x}", random(), random()))
    }

    /// The token as text (32 hexadecimal digits).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The marker stored at a key while this lease holds it: a fixed prefix starting with
    /// the byte `0xFF`, then the token. It is not UTF-8, so it can never equal a value stored through the port.
    pub fn marker(&self) -> Vec<u8> {
        [MARKER_PREFIX, self.0.as_bytes()].concat()
    }

    /// Whether bytes read from a key are a lease marker (of any lease) rather than a value.
    pub fn is_marker(value: &[u8]) -> bool {
        value.starts_with(MARKER_PREFIX)
    }
}

impl Default for LeaseToken {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LeaseToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only a prefix: enough to tell leases apart in a log.
        write!(f, "LeaseToken({}…)", &self.0[..8.min(self.0.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_and_markers_are_not_utf8() {
        let (one, two) = (LeaseToken::new(), LeaseToken::new());
        assert_ne!(one, two);
        assert_eq!(one.as_str().len(), 32);
        assert!(std::str::from_utf8(&one.marker()).is_err());
        assert!(LeaseToken::is_marker(&one.marker()));
        assert!(!LeaseToken::is_marker(b"\"a value\""));
        assert!(!LeaseToken::is_marker(b""));
    }
}
