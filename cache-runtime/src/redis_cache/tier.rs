//! The first tier: values read from Redis, kept in process memory and dropped the moment
//! Redis says their key changed.
//!
//! Coherence comes from Redis itself. Every connection the cache reads through runs
//! `CLIENT TRACKING ON` over RESP3: the server remembers the keys each connection read and
//! pushes an `invalidate` message on that connection when one of them changes, whoever
//! changed it. redis-rs hands pushes to [`Tier::on_push`] synchronously, from the task that
//! reads the socket, in order with the replies: a push for a change is applied before any
//! reply the server sent after it reaches its caller.
//!
//! Two races remain, and each has a counter:
//! - A reply and a push for the same key travel different paths to the tier (the caller's
//!   future and the connection's reader): a value read before a change could be inserted
//!   after the push for that change was applied, and then never be dropped. So every push
//!   bumps the key's *stripe* (one of [`STRIPES`] sequence numbers, by hash), a read takes a
//!   [`Snapshot`] before it is sent, and the insert is refused, or undone, if the stripe
//!   moved meanwhile.
//! - A lost connection loses its pushes. Any loss (the socket's end, a dropped link, the
//!   server's flush) bumps the *epoch*: every entry and every read in flight from before is
//!   void at once, even before moka has dropped the entries.
//!
//! And the tier serves only what it can show fresh: while a reply arrived on the
//! connections within the trust window (an operation deadline), and while the breaker is
//! closed and no deletion waits (checked by the caller). A connection the network silently
//! black-holed therefore serves from the tier for at most that window.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::{PushInfo, PushKind, Value};

/// How many sequence numbers the keys are spread over: a push for one key refuses inserts
/// in flight of the keys sharing its stripe, so more stripes mean fewer refusals.
const STRIPES: usize = 4096;

/// What a cache's first tier has done since the cache was built; shared by every clone and
/// view. See [`RedisCacheBuilder::local_tier`](super::RedisCacheBuilder::local_tier).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LocalTierStats {
    /// Reads answered from process memory, with nothing sent to Redis.
    pub hits: u64,
    /// Reads that went to Redis.
    pub misses: u64,
    /// Values kept after a read from Redis.
    pub inserts: u64,
    /// Keys Redis said changed (its pushes), and this process's own writes and deletions.
    pub invalidations: u64,
    /// Times the whole tier was dropped: a connection that carries its invalidations was
    /// lost, the server was flushed, or this process deleted by pattern or tag.
    pub clears: u64,
    /// Entries now held (approximate: moka counts lazily).
    pub entries: u64,
}

/// One value kept.
#[derive(Clone)]
struct Entry {
    value: Arc<str>,
    /// The epoch it was read in: void once the epoch moves.
    epoch: u64,
    /// The shorter of the key's TTL in Redis and the tier's own bound.
    ttl: Duration,
}

/// Gives each entry its own lifetime.
struct Lifetime;

impl moka::Expiry<String, Entry> for Lifetime {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// What a read saw before it was sent: an insert is refused if either moved.
#[derive(Clone, Copy)]
pub(super) struct Snapshot {
    epoch: u64,
    stripe: usize,
    sequence: u64,
}

pub(super) struct Tier {
    entries: moka::sync::Cache<String, Entry>,
    /// Set when the server refused to track keys: nothing is served or kept from then on.
    off: AtomicBool,
    max_ttl: Duration,
    epoch: AtomicU64,
    stripes: Box<[AtomicU64]>,
    /// When the tier starts distrusting itself without a reply: see [`Tier::trusted`].
    trust: Duration,
    start: Instant,
    /// Microseconds from `start` to the latest reply from the server, kept to within
    /// `granularity` microseconds.
    last_reply: AtomicU64,
    granularity: u64,
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    invalidations: AtomicU64,
    clears: AtomicU64,
}

impl Tier {
    pub(super) fn new(max_entries: u64, max_ttl: Duration, trust: Duration) -> Arc<Self> {
        Arc::new(Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(Lifetime)
                .build(),
            off: AtomicBool::new(false),
            max_ttl,
            epoch: AtomicU64::new(0),
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            trust,
            // One store per millisecond at most under load, finer for a short window.
            granularity: (trust.as_micros() as u64 / 8).clamp(1, 1_000),
            start: Instant::now(),
            last_reply: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            inserts: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            clears: AtomicU64::new(0),
        })
    }

    /// The value kept for `key` (the full key, prefix included), if it can be served.
    ///
    /// `links_open` is asked only when an entry is found: whether every connection is still
    /// open, asked of the sockets themselves, since the task reading a connection may not
    /// have seen the server close it a moment ago (and a closed one clears the tier).
    pub(super) fn get(&self, key: &str, links_open: impl FnOnce() -> bool) -> Option<Arc<str>> {
        let served = (!self.off.load(Ordering::Relaxed) && self.trusted())
            .then(|| self.entries.get(key))
            .flatten()
            .filter(|_| links_open())
            .filter(|entry| entry.epoch == self.epoch.load(Ordering::SeqCst));
        match served {
            Some(entry) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(entry.value)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Taken before a read of `key` is sent, for [`insert`](Self::insert).
    pub(super) fn snapshot(&self, key: &[u8]) -> Snapshot {
        let stripe = stripe_of(key);
        Snapshot {
            epoch: self.epoch.load(Ordering::SeqCst),
            stripe,
            sequence: self.stripes[stripe].load(Ordering::SeqCst),
        }
    }

    /// Keeps `value`, read from `key` after `snapshot`, unless the key changed or the tier
    /// was cleared since. `pttl` is the key's remaining TTL in Redis as `PTTL` answered it
    /// (-1 for none; -2 if the key went between the two commands).
    pub(super) fn insert(&self, snapshot: Snapshot, key: &str, value: &str, pttl: i64) {
        let ttl = match pttl {
            -1 => self.max_ttl,
            millis if millis > 0 => self.max_ttl.min(Duration::from_millis(millis as u64)),
            // Gone, or about to go: the push for it is on its way.
            _ => return,
        };
        if self.off.load(Ordering::Relaxed) || !self.unchanged(snapshot) {
            return;
        }
        self.entries.insert(
            key.to_owned(),
            Entry {
                value: value.into(),
                epoch: snapshot.epoch,
                ttl,
            },
        );
        // A push applied between the check and the insert found nothing to drop: undo it.
        if self.unchanged(snapshot) {
            self.inserts.fetch_add(1, Ordering::Relaxed);
        } else {
            self.entries.invalidate(key);
        }
    }

    fn unchanged(&self, snapshot: Snapshot) -> bool {
        self.epoch.load(Ordering::SeqCst) == snapshot.epoch
            && self.stripes[snapshot.stripe].load(Ordering::SeqCst) == snapshot.sequence
    }

    /// Drops `key` (the full key) and refuses the inserts in flight of its stripe.
    pub(super) fn forget(&self, key: &[u8]) {
        self.stripes[stripe_of(key)].fetch_add(1, Ordering::SeqCst);
        if let Ok(key) = std::str::from_utf8(key) {
            self.entries.invalidate(key);
        }
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// The server refused `CLIENT TRACKING`: without its pushes the tier cannot be kept
    /// coherent, so it is turned off (logged once) and the cache works on without it.
    pub(super) fn disable(&self, error: &redis::RedisError) {
        if !self.off.swap(true, Ordering::AcqRel) {
            self.clear();
            tracing::warn!(
                target: "cache_aside",
                error = %error,
                "the server refused CLIENT TRACKING: the first tier is turned off, and every \
                 read goes to Redis"
            );
        }
    }

    /// Drops everything, and voids every read in flight.
    pub(super) fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
        self.clears.fetch_add(1, Ordering::Relaxed);
    }

    /// A reply arrived from the server: the connections are alive.
    pub(super) fn replied(&self) {
        let now = self.start.elapsed().as_micros() as u64;
        // One store, not one per reply, under load: most replies find it fresh.
        if now.saturating_sub(self.last_reply.load(Ordering::Relaxed)) >= self.granularity {
            self.last_reply.store(now, Ordering::Relaxed);
        }
    }

    /// Whether a reply arrived within the trust window: a connection that stopped answering
    /// may be missing pushes without knowing it, so past that the tier serves nothing until
    /// the next reply.
    fn trusted(&self) -> bool {
        let silent = (self.start.elapsed().as_micros() as u64)
            .saturating_sub(self.last_reply.load(Ordering::Relaxed));
        silent < self.trust.as_micros() as u64
    }

    /// A push from the server (or redis-rs's own notice of a lost connection), applied on
    /// the task that reads the connection, before the replies that follow it.
    pub(super) fn on_push(&self, push: &PushInfo) {
        match push.kind {
            PushKind::Invalidate => match push.data.first() {
                Some(Value::Array(keys)) => {
                    for key in keys {
                        if let Value::BulkString(key) = key {
                            self.forget(key);
                        }
                    }
                }
                // `FLUSHDB`/`FLUSHALL`: the server sends no keys.
                _ => self.clear(),
            },
            PushKind::Disconnection => self.clear(),
            _ => {}
        }
    }

    /// What redis-rs calls with each push: [`on_push`](Self::on_push) on `tier`. On one
    /// server it runs on the task reading the socket; on a cluster, on redis-rs's task that
    /// forwards every node's pushes, a moment after the node's reader saw them.
    pub(super) fn push_sender(
        tier: &Arc<Tier>,
    ) -> impl Fn(PushInfo) -> Result<(), std::convert::Infallible> + Send + Sync + 'static {
        let tier = Arc::clone(tier);
        move |push: PushInfo| {
            tier.on_push(&push);
            Ok(())
        }
    }

    pub(super) fn stats(&self) -> LocalTierStats {
        LocalTierStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            inserts: self.inserts.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            clears: self.clears.load(Ordering::Relaxed),
            entries: self.entries.entry_count(),
        }
    }
}

fn stripe_of(key: &[u8]) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() as usize) % STRIPES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier() -> Arc<Tier> {
        let tier = Tier::new(100, Duration::from_secs(60), Duration::from_secs(60));
        tier.replied();
        tier
    }

    #[test]
    fn a_value_read_before_a_push_is_not_inserted_after_it() {
        let tier = tier();
        let snapshot = tier.snapshot(b"k");
        tier.on_push(&PushInfo {
            kind: PushKind::Invalidate,
            data: vec![Value::Array(vec![Value::BulkString(b"k".to_vec())])],
        });
        tier.insert(snapshot, "k", "old", -1);
        assert!(tier.get("k", || true).is_none());
    }

    #[test]
    fn a_lost_connection_voids_entries_and_reads_in_flight() {
        let tier = tier();
        tier.insert(tier.snapshot(b"a"), "a", "1", -1);
        let in_flight = tier.snapshot(b"b");
        tier.on_push(&PushInfo {
            kind: PushKind::Disconnection,
            data: vec![],
        });
        tier.insert(in_flight, "b", "2", -1);
        assert!(tier.get("a", || true).is_none());
        assert!(tier.get("b", || true).is_none());
        tier.insert(tier.snapshot(b"a"), "a", "3", -1);
        assert_eq!(tier.get("a", || true).as_deref(), Some("3"));
    }

    #[test]
    fn without_a_recent_reply_nothing_is_served() {
        let tier = Tier::new(100, Duration::from_secs(60), Duration::from_millis(1));
        tier.replied();
        tier.insert(tier.snapshot(b"a"), "a", "1", -1);
        std::thread::sleep(Duration::from_millis(5));
        assert!(tier.get("a", || true).is_none());
    }

    #[test]
    fn a_key_gone_between_get_and_pttl_is_not_kept() {
        let tier = tier();
        tier.insert(tier.snapshot(b"a"), "a", "1", -2);
        assert!(tier.get("a", || true).is_none());
    }
}
