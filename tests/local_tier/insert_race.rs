//! The race between a reply and a push that reach the library by different paths: a `GET`
//! reply read before an invalidation must not be kept in the tier after that invalidation was
//! processed (the per-key invalidation sequence, checked on insert, closes it).
//!
//! On one connection Redis sends the push for a change made after a `GET` ran after the `GET`'s
//! reply. When both arrive in one read, the connection's driver hands the reply to the caller's
//! future and the push to whatever processes invalidations in one go, and which of the two runs
//! first is up to the scheduler: if the invalidation is processed first and the caller then
//! inserts what it read, the old value stays until `max_ttl`.
//!
//! - `a_reply_and_its_invalidation_in_one_read_leave_nothing_stale` makes them arrive in one
//!   read, every round: `CLIENT PAUSE` holds the reader's `GET` and then a plain client's `SET`
//!   of the same key; when the pause ends Redis runs both in one pass of its event loop and
//!   writes the reply and the push to the reader's socket in one `write` (checked by hand
//!   against redis-server 7.0: `$3\r\nold\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n`
//!   in one `recv`). Whether a tier without the sequence check then loses depends on the order
//!   its tasks run in, so the test runs many rounds; it cannot fail deterministically.
//! - `reads_racing_writes_never_serve_a_value_older_than_the_bound` is the stress version: many
//!   readers against a plain client's writes; no read that starts [`STALENESS`] after a write
//!   was acknowledged returns an older value.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cache_aside::prelude::*;

use crate::proxy::Proxy;
use crate::rig::{
    LIMIT, Raw, RedisServer, STALENESS, bounded, eventually, read, seen_within, stats, tiered,
};

const OLD: &str = "old";
const NEW: &str = "new";
/// Rounds of the paused race.
const ROUNDS: u32 = 20;
/// How long `CLIENT PAUSE` holds the read and the write: ample time to send both.
const PAUSE: Duration = Duration::from_millis(100);
/// A write sent this long before the pause ends still reaches Redis within it.
const MARGIN: Duration = Duration::from_millis(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_and_its_invalidation_in_one_read_leave_nothing_stale() {
    let server = RedisServer::start();
    // Between the reader and Redis only to count what the reader sent: it passes traffic on
    // at once, and the reply and the push, written together, in one piece.
    let proxy = Proxy::start(server.port()).await;
    let reader = tiered(proxy.url()).connections(1).build().unwrap();
    let pauser = Raw::new(&server);
    let writer = Arc::new(Raw::new(&server));
    reader.ping().await.unwrap();

    let mut raced_old = 0;
    for round in 0..ROUNDS {
        let key = format!("race:{round}");
        pauser.set(&key, OLD);
        let paused = Instant::now();
        let pause = u64::try_from(PAUSE.as_millis()).unwrap();
        pauser.query::<()>(redis::cmd("CLIENT").arg("PAUSE").arg(pause).arg("ALL"));

        // The reader's GET first: it is in Redis's queue before the write is sent.
        let sent = proxy.received();
        let raced = tokio::spawn({
            let (reader, key) = (reader.clone(), key.clone());
            async move { reader.get(&key).await }
        });
        eventually(LIMIT, "the reader's GET on its way", || async {
            proxy.received() > sent
        })
        .await;
        let write = tokio::task::spawn_blocking({
            let (writer, key) = (Arc::clone(&writer), key.clone());
            move || {
                let sent = Instant::now();
                writer.set(&key, NEW);
                (sent, Instant::now())
            }
        });

        let raced = bounded(LIMIT, "the raced read", raced)
            .await
            .expect("the raced read's task")
            .expect("the raced read");
        let (write_sent, acknowledged) = write.await.expect("the write");
        // Otherwise this round did not race: the write ran first, or after the pause.
        if raced.as_deref() == Some(OLD) && write_sent + MARGIN < paused + PAUSE {
            raced_old += 1;
        }
        seen_within(
            acknowledged,
            STALENESS,
            &format!("round {round}: the reader seeing the write that followed its GET"),
            || async { read(&reader, &key).await.as_deref() == Some(NEW) },
        )
        .await;
    }
    println!(
        "insert race: {raced_old}/{ROUNDS} rounds raced (the read got the old value, the write \
         was in the same pause), and the write was seen in every round; tier {:?}",
        stats(&reader)
    );
    assert!(
        raced_old >= ROUNDS / 2,
        "only {raced_old}/{ROUNDS} rounds raced: the test did not test the race"
    );
}

/// Keys the readers and the writer share.
const STRESS_KEYS: usize = 8;
/// Readers: tasks that read the keys in turn, as fast as they can.
const READERS: usize = 16;
/// Writes by the plain client, each a new version of one key.
const WRITES: u64 = 300;
/// The writer's pace, so that the writes spread over the readers' run (load, not
/// synchronisation: nothing waits for anything).
const WRITE_PACE: Duration = Duration::from_millis(3);

/// The versions of every key that Redis acknowledged, and when.
#[derive(Default)]
struct Acknowledged(Mutex<HashMap<usize, Vec<(u64, Instant)>>>);

impl Acknowledged {
    fn record(&self, key: usize, version: u64, at: Instant) {
        let mut versions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        versions.entry(key).or_default().push((version, at));
    }

    /// For a read of `key` that started at `started` and returned `version`: how long before
    /// `started` a newer version had been acknowledged (zero if none had).
    fn behind(&self, key: usize, version: u64, started: Instant) -> Duration {
        let versions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        versions
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|&&(newer, at)| newer > version && at < started)
            .map(|&(_, at)| started - at)
            .max()
            .unwrap_or_default()
    }
}

fn stress_key(key: usize) -> String {
    format!("storm:{key}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_racing_writes_never_serve_a_value_older_than_the_bound() {
    let server = RedisServer::start();
    let raw = Arc::new(Raw::new(&server));
    let reader = tiered(server.url()).build().unwrap();
    let acknowledged = Arc::new(Acknowledged::default());
    for key in 0..STRESS_KEYS {
        raw.set(&stress_key(key), 0);
        acknowledged.record(key, 0, Instant::now());
    }

    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    // The longest an old value was served after a newer one was acknowledged, in µs.
    let worst = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|task| {
            let (reader, done, reads, worst, acknowledged) = (
                reader.clone(),
                Arc::clone(&done),
                Arc::clone(&reads),
                Arc::clone(&worst),
                Arc::clone(&acknowledged),
            );
            tokio::spawn(async move {
                let mut turn = task;
                while !done.load(Ordering::SeqCst) {
                    let key = turn % STRESS_KEYS;
                    turn += 1;
                    let started = Instant::now();
                    let value = read(&reader, &stress_key(key)).await;
                    let version: u64 = value
                        .as_deref()
                        .and_then(|value| value.parse().ok())
                        .unwrap_or_else(|| panic!("storm:{key} holds {value:?}"));
                    let behind = acknowledged.behind(key, version, started);
                    assert!(
                        behind <= STALENESS,
                        "a read of storm:{key} that started {behind:?} after a newer version \
                         was acknowledged returned version {version}"
                    );
                    let micros = u64::try_from(behind.as_micros()).unwrap_or(u64::MAX);
                    worst.fetch_max(micros, Ordering::SeqCst);
                    reads.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();

    let writer = tokio::task::spawn_blocking({
        let (raw, acknowledged) = (Arc::clone(&raw), Arc::clone(&acknowledged));
        move || {
            for version in 1..=WRITES {
                let key = usize::try_from(version).unwrap() % STRESS_KEYS;
                raw.set(&stress_key(key), version);
                acknowledged.record(key, version, Instant::now());
                std::thread::sleep(WRITE_PACE);
            }
            Instant::now()
        }
    });
    let last_write = bounded(LIMIT, "the writes", writer)
        .await
        .expect("the writer");
    // Every key's last version is seen within the bound of the last write.
    for key in 0..STRESS_KEYS {
        let last = (0..=WRITES)
            .filter(|version| usize::try_from(*version).unwrap() % STRESS_KEYS == key)
            .max()
            .unwrap_or(0)
            .to_string();
        let (reader, last) = (&reader, &last);
        seen_within(
            last_write,
            STALENESS,
            &format!("storm:{key} at its last version"),
            || async move { read(reader, &stress_key(key)).await.as_deref() == Some(last) },
        )
        .await;
    }
    done.store(true, Ordering::SeqCst);
    for reader in readers {
        bounded(LIMIT, "a reader", reader)
            .await
            .expect("a reader found a stale value");
    }
    println!(
        "insert race, stress: {READERS} readers, {} reads, {WRITES} writes over {STRESS_KEYS} \
         keys; the longest an older value was served after a newer one was acknowledged: {} µs \
         (bound {STALENESS:?}); tier {:?}",
        reads.load(Ordering::SeqCst),
        worst.load(Ordering::SeqCst),
        stats(&reader)
    );
}
