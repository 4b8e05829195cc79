//! The race between a reply and a push that reach the library by different paths: a `GET`
//! reply read before an invalidation must not be kept in the tier after that invalidation was
//! processed (the per-key invalidation sequence, checked on insert, closes it).
//!
//! On one connection Redis sends the push for a change made after a `GET` ran behind the
//! `GET`'s reply, but the reply goes to the caller's future and the push to whatever processes
//! invalidations: if the push is processed before the caller's future runs again and inserts
//! what it read, the old value stays until `max_ttl`.
//!
//! - `a_reply_read_before_an_invalidation_is_not_kept_after_it` makes that order happen every
//!   round: the test polls the read itself while `CLIENT PAUSE` holds its `GET` in Redis, then
//!   leaves it unpolled while a plain client (whose commands reach Redis after the `GET`)
//!   writes the key and a sentinel key that the tier holds, in one `MSET`, so that the
//!   sentinel's push comes behind the key's. Once the sentinel reads new, the tier has
//!   processed the key's push too; only then does the read take its reply. Checked against a
//!   throwaway tier on redis-rs (a map, pushes through `push_sender`, inserts in the caller's
//!   future): without a sequence check it kept the old value in 30 of 30 rounds, whether it
//!   processed pushes inline in the sender or on a task of its own; with one, in none. A tier
//!   that inserts elsewhere than in the caller's future (in a task that owns the connection,
//!   say) is not held back by this and meets the race only by chance.
//! - `reads_racing_writes_never_serve_a_value_older_than_the_bound` is the same race by chance:
//!   many readers against a plain client's writes; no read that starts [`STALENESS`] after a
//!   write was acknowledged returns an older value.

use std::collections::HashMap;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use cache_aside::prelude::*;

use crate::proxy::{Mode, Proxy};
use crate::rig::{
    LIMIT, Raw, RedisServer, STALENESS, bounded, held, read, seen_within, stats, tiered,
};

const OLD: &str = "old";
const NEW: &str = "new";
/// Rounds of the ordered race.
const ROUNDS: u32 = 10;
/// How long `CLIENT PAUSE` holds the read's `GET` (and everything else): while it does, the
/// read cannot be answered, so polling it only sends it.
const PAUSE: Duration = Duration::from_millis(100);
/// How late the writer's commands reach Redis.
const DETOUR: Duration = Duration::from_millis(10);

/// Polls `future` once.
async fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Poll<F::Output> {
    std::future::poll_fn(|context| Poll::Ready(future.as_mut().poll(context))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_read_before_an_invalidation_is_not_kept_after_it() {
    let server = RedisServer::start();
    // Between the reader and Redis only to count what the reader sent; it passes traffic on
    // at once.
    let proxy = Proxy::start(server.port()).await;
    // One connection, so that the key's push and the sentinel's come in order on it.
    let reader = tiered(proxy.url()).connections(1).build().unwrap();
    let raw = Raw::new(&server);
    // The writer's commands take a detour, so that the reader's GET, on its way when the write
    // is sent, reaches Redis first (the read's answer shows whether it did).
    let detour = Proxy::start(server.port()).await;
    detour.set_mode(Mode::Latency(DETOUR));
    let writer = Arc::new(std::sync::Mutex::new(
        redis::Client::open(detour.url())
            .and_then(|client| client.get_connection())
            .expect("the writer's connection"),
    ));
    reader.ping().await.unwrap();

    let mut raced_old = 0;
    for round in 0..ROUNDS {
        let (key, sentinel) = (format!("race:{round}"), format!("race:{round}:sentinel"));
        raw.query::<()>(
            redis::cmd("MSET")
                .arg(&key)
                .arg(OLD)
                .arg(&sentinel)
                .arg(OLD),
        );
        held(&reader, &sentinel, OLD).await;

        let pause = u64::try_from(PAUSE.as_millis()).unwrap();
        raw.query::<()>(redis::cmd("CLIENT").arg("PAUSE").arg(pause).arg("ALL"));
        let mut raced = pin!(reader.get(&key));
        let sent = proxy.received();
        let answered_early = bounded(LIMIT, "the raced read's GET leaving", async {
            loop {
                if let Poll::Ready(answer) = poll_once(raced.as_mut()).await {
                    return Some(answer);
                }
                if proxy.received() > sent {
                    return None;
                }
                tokio::task::yield_now().await;
            }
        })
        .await;
        if let Some(answer) = answered_early {
            // The pause ran out first (a stalled machine): this round does not race.
            println!("insert race: round {round} was answered while polled: {answer:?}");
            continue;
        }

        // Runs when the pause ends, after the GET, whose reply the read leaves unread.
        let write = tokio::task::spawn_blocking({
            let (writer, key, sentinel) = (Arc::clone(&writer), key.clone(), sentinel.clone());
            move || {
                let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
                redis::cmd("MSET")
                    .arg(&key)
                    .arg(NEW)
                    .arg(&sentinel)
                    .arg(NEW)
                    .query::<()>(&mut *writer)
                    .expect("the write");
                Instant::now()
            }
        });
        let acknowledged = bounded(LIMIT, "the write", write).await.expect("the write");
        seen_within(
            acknowledged,
            STALENESS,
            &format!("round {round}: the tier processing the write's pushes"),
            || async { read(&reader, &sentinel).await.as_deref() == Some(NEW) },
        )
        .await;
        // Only now does the read take the reply it was sent before the write.
        let raced = bounded(LIMIT, "the raced read", raced)
            .await
            .expect("the raced read");
        if raced.as_deref() == Some(OLD) {
            raced_old += 1;
        }
        seen_within(
            Instant::now(),
            STALENESS,
            &format!(
                "round {round}: the reader seeing the write after a read that got {raced:?} \
                 (an old value kept after its invalidation was processed?)"
            ),
            || async { read(&reader, &key).await.as_deref() == Some(NEW) },
        )
        .await;
    }
    println!(
        "insert race: in {raced_old}/{ROUNDS} rounds the read took its old reply after the \
         invalidation was processed, and nothing stale was kept; tier {:?}",
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
