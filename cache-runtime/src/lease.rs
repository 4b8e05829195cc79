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
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::CacheError;
use crate::port::BoxFuture;

/// How long a `#[cached]` lease lives by default, unless the attribute says `lease = ...`.
///
/// A body that runs longer than its lease still returns its value, but does not store it;
/// callers in other processes wait for the value at most this long before loading for
/// themselves.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// The first bytes of every lease marker. `0xFF` never occurs in UTF-8, and values stored
/// through the port are `String`s, so a marker can never be mistaken for a cached value.
const MARKER_PREFIX: &[u8] = b"\xFFcache-aside:lease:";

/// The lease and tag capability of a cache, returned by [`Cache::leases`](crate::Cache::leases).
///
/// # The contract
/// A lease on a key is a *marker* held in the key itself, naming the lease's token, for at
/// most the lease's length:
/// - [`try_lease`](Self::try_lease) puts the marker of a token there if the key holds
///   nothing, atomically, and otherwise reports what it holds;
/// - reads ([`Cache::get`](crate::Cache::get), `get_many`) report a marker as no value;
/// - every deletion of the key (`delete`, `delete_pattern`, [`invalidate_tags`](Self::invalidate_tags),
///   `flush`) and every write (`set`) removes the marker with whatever else the key held;
/// - [`set_leased`](Self::set_leased) replaces the marker of a token with a value only if it
///   is still there, atomically; [`release`](Self::release) removes it only if it is still
///   there.
///
/// So a load that started before an invalidation cannot store what it loaded after it, in
/// any process; and while one caller loads, callers elsewhere find the marker and wait.
///
/// # Tags
/// `try_lease` and [`record_tags`](Self::record_tags) record the key under each tag before
/// the value is stored, so an invalidation of the tag during the load removes the marker.
/// A tag's record must last at least as long as any value stored under it. Tags are names
/// of their own: not keys, never matched by patterns; with a prefix, they are confined to
/// it like keys.
///
/// The methods are object-safe (their futures are boxed) so that a wrapper forwards the whole
/// capability in one line; they are only called on a miss, which is boxed already.
pub trait Leases: Send + Sync {
    /// Takes a lease on `key` for `lease` with `token` (which the caller made, so that it can
    /// give the lease back even if this call is dropped while the command is on its way), if
    /// the key holds neither a value nor another lease; records `key` under each of `tags`
    /// whatever the answer. `ttl` is the TTL the value will be stored with. A zero `lease` is
    /// an [`ErrorCode::Set`](crate::ErrorCode::Set) error.
    ///
    /// Sending it again after a lost reply is harmless: a marker of the caller's own token
    /// means the lease is the caller's, and is answered as [`Lease::Granted`] (callers also
    /// take a `Loading` with their own token as granted).
    fn try_lease<'a>(
        &'a self,
        key: &'a str,
        token: &'a LeaseToken,
        lease: Duration,
        ttl: Option<Duration>,
        tags: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Lease, CacheError>>;

    /// Stores `value` at `key` for `ttl` if the key still holds the marker of `token`,
    /// atomically; `false` (and nothing written) when an invalidation, a write or the lease's
    /// expiry removed it.
    fn set_leased<'a>(
        &'a self,
        key: &'a str,
        token: &'a LeaseToken,
        value: &'a str,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<bool, CacheError>>;

    /// Gives the lease of `token` on `key` back (removes its marker if it is still there),
    /// without the caller waiting for it: the adapter settles it itself, at once or on a task
    /// of its own, retrying while the store is out of reach for at most `lease` (by then the
    /// marker has expired anyway). It is called from `Drop`, so it must not block on the
    /// store, and must work without the caller's runtime.
    fn release(&self, key: &str, token: &LeaseToken, lease: Duration);

    /// Records `key` under each of `tags`, for a value stored without a lease (`#[cache_put]`)
    /// with `ttl`.
    fn record_tags<'a>(
        &'a self,
        key: &'a str,
        ttl: Option<Duration>,
        tags: &'a [&'a str],
    ) -> BoxFuture<'a, Result<(), CacheError>>;

    /// Deletes every entry recorded under any of `tags`, lease markers included, and forgets
    /// the tags; returns how many entries were deleted. It costs in proportion to the entries
    /// under the tags, not to the size of the keyspace.
    fn invalidate_tags<'a>(&'a self, tags: &'a [&'a str])
    -> BoxFuture<'a, Result<u64, CacheError>>;
}

/// What [`Leases::try_lease`] found at the key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lease {
    /// The key held nothing: the caller holds the lease now. It loads, then stores with
    /// [`Leases::set_leased`] or gives the lease back with [`Leases::release`].
    Granted,
    /// Another lease holds the key (in this process or another): its holder is loading.
    Loading(LeaseToken),
    /// The key holds a value.
    Filled(String),
    /// The key holds something that is neither a value nor a marker: another Redis type, or
    /// bytes that are not UTF-8. The caller deletes it and tries again.
    Foreign,
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
    /// the byte `0xFF`, then the token. It is not UTF-8, so it can never equal a value stored
    /// through the port.
    pub fn marker(&self) -> Vec<u8> {
        [MARKER_PREFIX, self.0.as_bytes()].concat()
    }

    /// Whether bytes read from a key are a lease marker (of any lease) rather than a value.
    pub fn is_marker(value: &[u8]) -> bool {
        value.starts_with(MARKER_PREFIX)
    }

    /// The token of a marker, or `None` when `value` is not a marker.
    pub fn from_marker(value: &[u8]) -> Option<LeaseToken> {
        let token = value.strip_prefix(MARKER_PREFIX)?;
        std::str::from_utf8(token)
            .ok()
            .map(|token| LeaseToken(token.to_owned()))
    }

    /// What bytes read from a key mean to a lease: a marker (of another lease, or of this
    /// one), a value, or something foreign. For adapters implementing [`Leases`] over a
    /// byte store.
    pub fn classify(value: Vec<u8>) -> Lease {
        if let Some(holder) = LeaseToken::from_marker(&value) {
            return Lease::Loading(holder);
        }
        match String::from_utf8(value) {
            Ok(value) => Lease::Filled(value),
            Err(_) => Lease::Foreign,
        }
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

    #[test]
    fn classifies_markers_values_and_foreign_bytes() {
        let token = LeaseToken::new();
        assert_eq!(LeaseToken::classify(token.marker()), Lease::Loading(token));
        assert_eq!(
            LeaseToken::classify(b"1".to_vec()),
            Lease::Filled("1".into())
        );
        assert_eq!(LeaseToken::classify(vec![0xFE, 0x01]), Lease::Foreign);
    }
}
