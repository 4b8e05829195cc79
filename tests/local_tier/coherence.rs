//! Two instances on one server, both with the first tier (two `build()` calls: connections,
//! tiers and in-process state of their own, as two processes would have): whatever changes a
//! key the first one holds, by key, pattern or tag through the other instance or by a plain
//! redis-rs client, the first stops serving the old value within [`STALENESS`] of the change's
//! acknowledgement. How long it took is printed: the coherence figures of the closing note.

use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{RedisCache, cache_put, invalidate};

use crate::rig::{Figures, Raw, RedisServer, STALENESS, held, read, seen_within, stats, tiered};

/// Rounds per kind of change: 8 kinds, 200 changes in all, the figures' sample.
const ROUNDS: u32 = 25;
/// What the reader holds before the change (JSON, as `#[cache_put]` writes it)...
const OLD: &str = r#""old""#;
/// ... and what a write changes it to.
const NEW: &str = r#""new""#;

/// One way to change a key the reader holds.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// `delete` through the other instance.
    Delete,
    /// `set` through the other instance.
    Set,
    /// `delete_pattern` through the other instance.
    Pattern,
    /// `invalidate_tags` through the other instance.
    Tags,
    /// An `#[invalidate(tags = [...])]` function on the other instance.
    TagsAttribute,
    /// `SET` by a plain redis-rs client.
    RawSet,
    /// `DEL` by a plain redis-rs client.
    RawDel,
    /// `EXPIRE key 0` by a plain redis-rs client (which deletes the key).
    RawExpire,
}

impl Change {
    const ALL: [Change; 8] = [
        Change::Delete,
        Change::Set,
        Change::Pattern,
        Change::Tags,
        Change::TagsAttribute,
        Change::RawSet,
        Change::RawDel,
        Change::RawExpire,
    ];

    /// What the reader must read once it has seen the change.
    fn after(self) -> Option<&'static str> {
        match self {
            Change::Set | Change::RawSet => Some(NEW),
            _ => None,
        }
    }
}

/// The name of one round: its key's tag, and the beginning of its key.
fn name(change: Change, round: u32) -> String {
    format!("coherence:{change:?}:{round}")
}

/// The key of one round (for `delete_pattern`, the only one under `name:*`).
fn key(change: Change, round: u32) -> String {
    format!("{}:key", name(change, round))
}

/// Writes the old value of the round `name` under its tag, as a `#[cached]` load would.
#[cache_put(key = "{name}:key", ttl = 600, tags = ["{name}"], cache = cache)]
async fn put_tagged(cache: &RedisCache, name: &str) -> String {
    "old".to_owned()
}

#[invalidate(tags = ["{name}"], cache = cache)]
async fn drop_tagged(cache: &RedisCache, name: &str) {}

/// A server, the instance that reads and holds, the other instance that changes things, and a
/// plain client.
struct Pair {
    _server: RedisServer,
    reader: RedisCache,
    writer: RedisCache,
    raw: Raw,
}

impl Pair {
    fn start() -> Pair {
        let server = RedisServer::start();
        Pair {
            reader: tiered(server.url()).build().unwrap(),
            writer: tiered(server.url()).build().unwrap(),
            raw: Raw::new(&server),
            _server: server,
        }
    }

    /// One instance that both reads and changes, over `connections` connections: its reads
    /// of a key go through one connection and its change through another, whose push may
    /// come after the change's reply.
    fn alone(connections: usize) -> Pair {
        let server = RedisServer::start();
        let cache = tiered(server.url())
            .connections(connections)
            .build()
            .unwrap();
        Pair {
            reader: cache.clone(),
            writer: cache,
            raw: Raw::new(&server),
            _server: server,
        }
    }

    /// Writes the old value of a round, so that `change` can change it.
    async fn prepare(&self, change: Change, round: u32) {
        match change {
            Change::Tags | Change::TagsAttribute => {
                put_tagged(&self.writer, &name(change, round)).await;
            }
            _ => self.raw.set(&key(change, round), OLD),
        }
    }

    /// Makes `change`, returning once Redis has acknowledged it.
    async fn change(&self, change: Change, round: u32) {
        let key = &key(change, round);
        match change {
            Change::Delete => assert!(self.writer.delete(key).await.unwrap()),
            Change::Set => self.writer.set(key, NEW, None).await.unwrap(),
            Change::Pattern => {
                let pattern = format!("{}:*", name(change, round));
                assert_eq!(self.writer.delete_pattern(&pattern).await.unwrap(), 1);
            }
            Change::Tags => {
                let tag = name(change, round);
                assert_eq!(self.writer.invalidate_tags(&[&tag]).await.unwrap(), 1);
            }
            Change::TagsAttribute => drop_tagged(&self.writer, &name(change, round)).await,
            Change::RawSet => self.raw.set(key, NEW),
            Change::RawDel => assert_eq!(self.raw.query::<u64>(redis::cmd("DEL").arg(key)), 1),
            Change::RawExpire => {
                let expired: u64 = self.raw.query(redis::cmd("EXPIRE").arg(key).arg(0));
                assert_eq!(expired, 1);
            }
        }
    }

    /// One round: the reader holds the old value, `change` is made, and the reader sees it
    /// within [`STALENESS`]; returns how long after the acknowledgement the read that saw it
    /// started.
    async fn round(&self, change: Change, round: u32) -> Duration {
        let key = &key(change, round);
        self.prepare(change, round).await;
        held(&self.reader, key, OLD).await;
        self.change(change, round).await;
        let acknowledged = Instant::now();
        let expected = change.after();
        seen_within(
            acknowledged,
            STALENESS,
            &format!("the reader seeing {change:?} of {key}"),
            || async move { read(&self.reader, key).await.as_deref() == expected },
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_by_another_instance_or_client_is_seen_within_the_bound() {
    let pair = Pair::start();
    let mut all = Figures::default();
    let mut lines = Vec::new();
    for change in Change::ALL {
        let mut figures = Figures::default();
        for round in 0..ROUNDS {
            let took = pair.round(change, round).await;
            figures.record(took);
            all.record(took);
        }
        lines.push(format!("  {change:?}: {}", figures.summary()));
    }
    let tier = stats(&pair.reader);
    println!(
        "coherence: from a change's acknowledgement to the first read of another instance \
         that saw it (reads polled at once, then every millisecond): {}\n{}\n  reader's tier: \
         {tier:?}",
        all.summary(),
        lines.join("\n")
    );
    assert!(
        tier.invalidations >= u64::from(ROUNDS) * Change::ALL.len() as u64,
        "every change reached the reader's tier as an invalidation: {tier:?}"
    );
}

/// `FLUSHDB` by a plain client empties the tier: every key the reader held is gone for it too,
/// and the tier counts a clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushdb_by_a_plain_client_is_seen_for_every_key() {
    let pair = Pair::start();
    let keys: Vec<String> = (0..8).map(|n| format!("coherence:flushed:{n}")).collect();
    for key in &keys {
        pair.raw.set(key, OLD);
        held(&pair.reader, key, OLD).await;
    }
    let reader = &pair.reader;
    let clears = stats(reader).clears;
    pair.raw.query::<()>(&redis::cmd("FLUSHDB"));
    let flushed = Instant::now();
    let mut figures = Figures::default();
    for key in &keys {
        let took = seen_within(
            flushed,
            STALENESS,
            &format!("the reader seeing FLUSHDB for {key}"),
            || async move { read(reader, key).await.is_none() },
        )
        .await;
        figures.record(took);
    }
    let tier = stats(reader);
    println!(
        "coherence: FLUSHDB seen for {}; tier {tier:?}",
        figures.summary()
    );
    assert!(tier.clears > clears, "a flush clears the tier: {tier:?}");
    // Written again afterwards, the key is read (and held) again as any other.
    let key = &keys[0];
    pair.raw.set(key, NEW);
    seen_within(
        Instant::now(),
        STALENESS,
        "a write after the flush",
        || async move { read(reader, key).await.as_deref() == Some(NEW) },
    )
    .await;
    held(reader, key, NEW).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_processs_own_changes_are_seen_at_once() {
    for connections in [1, 2] {
        let pair = Pair::alone(connections);
        for change in [
            Change::Delete,
            Change::Set,
            Change::Pattern,
            Change::Tags,
            Change::TagsAttribute,
        ] {
            for round in 0..ROUNDS {
                let key = &key(change, round);
                pair.prepare(change, round).await;
                // Held through both connections, so that whichever one the change goes
                // through, the other one tracks the key too.
                held(&pair.reader, key, OLD).await;
                assert_eq!(read(&pair.reader, key).await.as_deref(), Some(OLD));
                pair.change(change, round).await;
                assert_eq!(
                    read(&pair.reader, key).await.as_deref(),
                    change.after(),
                    "the first read after this process's own {change:?} of {key}, over \
                     {connections} connections"
                );
            }
        }
    }
}
