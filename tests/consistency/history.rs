//! The stale-set race, as a Jepsen-style check.
//!
//! `TASKS` tasks each run `OPS` random operations per round over `ROWS` rows of a shared
//! "database": reads through a `#[cached]` function whose body reads the row and then
//! sleeps a random few milliseconds before returning (the window in which an update can
//! slip between the database read and the cache write), and updates that bump the row and
//! then invalidate it, by key, by pattern or by tag. After each round, with nothing in
//! flight, every cached row is compared with the database.
//!
//! Readers and writers use two handles onto the store that share no in-process state
//! (`Backend::cache` and `Backend::twin`), as two application processes would, so only the
//! leases in the store can protect the reads.
//! The unprotected run replays the same random histories through `get_or_load` and plain
//! `set`, which is what every cache-aside library without leases does, and must find stale
//! rows: that is what shows this check can fail.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{SharedCache, cached, get_or_load, invalidate, store};

use crate::support::backend::{Backend, Kind as BackendKind};

const ROWS: usize = 8;
const TASKS: u64 = 32;
const ROUNDS: u64 = 10;
/// On a cluster, whose cases run one at a time on the binary's one cluster.
const CLUSTER_ROUNDS: u64 = 3;
const OPS: u64 = 40;
/// Out of 100 operations, how many are updates.
const UPDATES: u64 = 30;
/// The longest pause between a read's database read and its return.
const MAX_DELAY: Duration = Duration::from_millis(4);
/// The same on a cluster, whose pattern invalidations (a `SCAN` of every primary, then
/// `UNLINK` and `WAIT`) outlast a 4 ms window: a read racing one must be able to land after it.
const CLUSTER_MAX_DELAY: Duration = Duration::from_millis(16);
const TTL: Option<Duration> = Some(Duration::from_secs(600));
/// How long after a round a first tier may still hold a value whose invalidation push is on
/// its way (see `App::stale_rows`).
const PUSH_WINDOW: Duration = Duration::from_millis(200);
/// The bound on one round.
const ROUND_LIMIT: Duration = Duration::from_secs(60);

/// How updates invalidate.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Key,
    Pattern,
    Tag,
}

/// Whether reads and invalidations go through the attributes (leases) or the plain helpers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Protected,
    Unprotected,
}

/// The application under test: a database of counters, read through the cache.
struct App {
    reader: SharedCache,
    writer: SharedCache,
    ns: String,
    db: Vec<AtomicU64>,
    /// The longest pause between a read's database read and its return.
    max_delay: Duration,
}

impl App {
    fn key(&self, row: usize) -> String {
        format!("{}:row:{row}", self.ns)
    }

    fn tag(&self, row: usize) -> String {
        format!("{}:tag:{row}", self.ns)
    }

    /// The database read, then the pause that widens the race.
    async fn load(&self, row: usize, delay: Duration) -> u64 {
        let value = self.db[row].load(Ordering::SeqCst);
        tokio::time::sleep(delay).await;
        value
    }

    #[cached(key = "{self.ns}:row:{row}", ttl = 600, tags = ["{self.ns}:tag:{row}"], cache = self.reader)]
    async fn read(&self, row: usize, delay: Duration) -> u64 {
        self.load(row, delay).await
    }

    #[invalidate(key = "{self.ns}:row:{row}", cache = self.writer)]
    async fn update_by_key(&self, row: usize) {
        self.db[row].fetch_add(1, Ordering::SeqCst);
    }

    #[invalidate(pattern = "{self.ns}:row:{row}*", cache = self.writer)]
    async fn update_by_pattern(&self, row: usize) {
        self.db[row].fetch_add(1, Ordering::SeqCst);
    }

    #[invalidate(tags = ["{self.ns}:tag:{row}"], cache = self.writer)]
    async fn update_by_tag(&self, row: usize) {
        self.db[row].fetch_add(1, Ordering::SeqCst);
    }

    /// The same read without leases: `get_or_load`, or for tags a lease taken only to
    /// record the tag, then a plain `set` that ignores it.
    async fn read_plain(&self, kind: Kind, row: usize, delay: Duration) -> u64 {
        let key = self.key(row);
        if let Kind::Tag = kind {
            if let Some(value) = cache_aside::lookup(&self.reader, &key).await {
                return value;
            }
            let tag = self.tag(row);
            if let Some(leases) = self.reader.leases() {
                let _ = leases.record_tags(&key, TTL, &[&tag]).await;
            }
            let value = self.load(row, delay).await;
            store(&self.reader, &key, &value, TTL).await;
            return value;
        }
        let load = || async { Ok::<_, Infallible>(self.load(row, delay).await) };
        get_or_load(&self.reader, &key, TTL, load)
            .await
            .unwrap_or_else(|never| match never {})
    }

    async fn update_plain(&self, kind: Kind, row: usize) {
        self.db[row].fetch_add(1, Ordering::SeqCst);
        let deleted = match kind {
            Kind::Key => self.writer.delete(&self.key(row)).await.map(drop),
            Kind::Pattern => {
                let pattern = format!("{}*", self.key(row));
                self.writer.delete_pattern(&pattern).await.map(drop)
            }
            Kind::Tag => self
                .writer
                .invalidate_tags(&[&self.tag(row)])
                .await
                .map(drop),
        };
        deleted.expect("an invalidation");
    }

    async fn op(&self, mode: Mode, kind: Kind, rng: &mut Rng) {
        let row = usize::try_from(rng.below(ROWS as u64)).expect("a small row");
        let update = rng.below(100) < UPDATES;
        let delay = Duration::from_micros(rng.below(self.max_delay.as_micros() as u64 + 1));
        match (mode, update, kind) {
            (Mode::Protected, true, Kind::Key) => self.update_by_key(row).await,
            (Mode::Protected, true, Kind::Pattern) => self.update_by_pattern(row).await,
            (Mode::Protected, true, Kind::Tag) => self.update_by_tag(row).await,
            (Mode::Protected, false, _) => drop(self.read(row, delay).await),
            (Mode::Unprotected, true, _) => self.update_plain(kind, row).await,
            (Mode::Unprotected, false, _) => drop(self.read_plain(kind, row, delay).await),
        }
    }

    /// Rows whose cached value differs from the database, with nothing in flight.
    ///
    /// With a first tier, the reader learns of the writer's last invalidation from Redis's
    /// push, which may still be on its way when the round ends: the documented window. So a
    /// row that differs is looked at again after a round trip on the reader's connection
    /// (whose reply comes after any push sent before it), for up to [`PUSH_WINDOW`] (a
    /// cluster's pushes reach the tier through one more task), and counts as stale only if it
    /// still differs. An entry the tier should have dropped stays, and is still found.
    async fn stale_rows(&self) -> u64 {
        let mut stale = 0;
        for row in 0..ROWS {
            if self.differs(row).await && self.still_differs(row).await {
                stale += 1;
            }
        }
        stale
    }

    async fn differs(&self, row: usize) -> bool {
        let cached = self
            .reader
            .get(&self.key(row))
            .await
            .expect("a quiescent read");
        cached.is_some_and(|raw| {
            raw.parse::<u64>().expect("a cached counter") != self.db[row].load(Ordering::SeqCst)
        })
    }

    async fn still_differs(&self, row: usize) -> bool {
        let deadline = tokio::time::Instant::now() + PUSH_WINDOW;
        loop {
            self.reader.ping().await.expect("a quiescent ping");
            if !self.differs(row).await {
                return false;
            }
            if tokio::time::Instant::now() >= deadline {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// xorshift64*: a small deterministic generator, so both runs replay the same histories.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}

/// Runs every round of `mode` and returns how many stale rows the checks found; the
/// unprotected run stops at the first round that finds one (all it must show).
async fn run(app: Arc<App>, mode: Mode, kind: Kind, rounds: u64) -> u64 {
    let mut stale = 0;
    for round in 0..rounds {
        if mode == Mode::Unprotected && stale > 0 {
            break;
        }
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let app = Arc::clone(&app);
                tokio::spawn(async move {
                    let mut rng = Rng::new(round * 1000 + task);
                    for _ in 0..OPS {
                        app.op(mode, kind, &mut rng).await;
                    }
                })
            })
            .collect();
        tokio::time::timeout(ROUND_LIMIT, async {
            for task in tasks {
                task.await.expect("a task panicked");
            }
        })
        .await
        .unwrap_or_else(|_| panic!("a round did not finish within {ROUND_LIMIT:?}"));
        stale += app.stale_rows().await;
    }
    stale
}

fn app(reader: SharedCache, writer: SharedCache, ns: &str, max_delay: Duration) -> Arc<App> {
    Arc::new(App {
        reader,
        writer,
        ns: ns.to_owned(),
        max_delay,
        db: (0..ROWS).map(|_| AtomicU64::new(0)).collect(),
    })
}

/// The same histories with and without protection, on the backend's two handles (under
/// namespaces of their own), and what they must find.
async fn both(b: &Backend, kind: Kind) {
    let (rounds, max_delay) = match b.kind() {
        BackendKind::Cluster | BackendKind::ClusterTiered => (CLUSTER_ROUNDS, CLUSTER_MAX_DELAY),
        BackendKind::Memory | BackendKind::Redis | BackendKind::RedisTiered => (ROUNDS, MAX_DELAY),
    };
    let protected = run(
        app(b.cache.clone(), b.twin.clone(), "protected", max_delay),
        Mode::Protected,
        kind,
        rounds,
    )
    .await;
    let unprotected = run(
        app(b.cache.clone(), b.twin.clone(), "plain", max_delay),
        Mode::Unprotected,
        kind,
        ROUNDS,
    )
    .await;
    let checks = rounds * ROWS as u64;
    let plain_checks = ROUNDS * ROWS as u64;
    let backend = match b.kind() {
        BackendKind::Memory => "memory",
        BackendKind::Redis => "redis",
        BackendKind::RedisTiered => "redis with a first tier",
        BackendKind::Cluster => "a redis cluster",
        BackendKind::ClusterTiered => "a redis cluster with a first tier",
    };
    println!(
        "history backend={backend} invalidation={kind:?}: stale rows with leases \
         {protected}/{checks}, without {unprotected} (in up to {plain_checks} checks, stopping \
         at the first round that finds one) ({TASKS} tasks x {OPS} ops x {rounds} rounds, \
         {UPDATES}% updates)"
    );
    assert_eq!(protected, 0, "with leases, no check may find a stale row");
    assert!(
        unprotected > 0,
        "the unprotected run found no stale row: the race is not wide enough to test"
    );
}

pub async fn invalidation_by_key_leaves_nothing_stale(b: Backend) {
    both(&b, Kind::Key).await;
}

pub async fn invalidation_by_pattern_leaves_nothing_stale(b: Backend) {
    both(&b, Kind::Pattern).await;
}

pub async fn invalidation_by_tag_leaves_nothing_stale(b: Backend) {
    both(&b, Kind::Tag).await;
}
