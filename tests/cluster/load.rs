//! The callers: 32 tasks making calls of a [`Workload`] until stopped, each call timed and
//! its result checked against the source.
//!
//! A read is stale when it returns a version older than one whose invalidation had returned
//! before the read started: the update wrote the source, then invalidated, and the caller
//! saw the invalidation return, so from then on nothing older may be served. (A read that
//! overlaps an invalidation may return either version: the library returns it, but never
//! stores it.)

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::rig::{CALL_BOUND, eventually};
use crate::support::wait::bounded;
use crate::workload::{Done, LOADED_ROWS, Op, Workload};

/// Concurrent callers.
pub const TASKS: u64 = 32;
/// Out of 100 calls, how many are updates invalidating by key, and by tag; the rest are reads.
const BY_KEY: u64 = 10;
const BY_TAG: u64 = 10;
/// The longest pause of a read's body between reading the source and returning.
const MAX_LOAD_DELAY_MICROS: u64 = 2_000;
/// A pause between two calls of one caller, so that 32 callers leave the six nodes some CPU:
/// a node starved for a second would be failed over by the others.
const PACE: Duration = Duration::from_millis(1);
/// A bound on waiting for calls to be made, or for the callers to stop.
const PHASE_BOUND: Duration = Duration::from_secs(30);

/// The callers, running.
pub struct Load {
    stop: Arc<AtomicBool>,
    /// Set, the callers make reads only (of the rows their updates would have been of).
    reads_only: Arc<AtomicBool>,
    tally: Arc<Tally>,
    callers: Vec<JoinHandle<()>>,
}

/// What the callers saw, shared while they run.
#[derive(Default)]
struct Tally {
    calls: AtomicU64,
    reads: AtomicU64,
    updates: AtomicU64,
    slowest_micros: AtomicU64,
    errors: Mutex<Vec<String>>,
    stale: Mutex<Vec<String>>,
}

/// What the callers saw, once stopped.
pub struct Outcome {
    pub calls: u64,
    pub reads: u64,
    pub updates: u64,
    /// Reads that returned `Err`, and callers that panicked.
    pub errors: Vec<String>,
    /// Reads older than an invalidation that had returned before they started.
    pub stale: Vec<String>,
    pub slowest: Duration,
}

impl Load {
    /// Starts [`TASKS`] callers of `app`.
    pub fn start<W: Workload>(app: &Arc<W>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let reads_only = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Tally::default());
        let callers = (0..TASKS)
            .map(|task| {
                let caller = Caller {
                    app: Arc::clone(app),
                    stop: Arc::clone(&stop),
                    reads_only: Arc::clone(&reads_only),
                    tally: Arc::clone(&tally),
                    task,
                };
                tokio::spawn(caller.run())
            })
            .collect();
        Load {
            stop,
            reads_only,
            tally,
            callers,
        }
    }

    /// From now on the callers only read.
    pub fn reads_only(&self) {
        self.reads_only.store(true, Ordering::SeqCst);
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.tally.calls.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until `calls` more calls have been made.
    pub async fn more_calls(&self, calls: u64, what: &str) {
        let until = self.calls() + calls;
        let what = format!("{calls} calls {what}");
        eventually(PHASE_BOUND, &what, || async move { self.calls() >= until }).await;
    }

    /// Stops the callers, waits (bounded) for them, and says what they saw.
    pub async fn stop(self) -> Outcome {
        self.stop.store(true, Ordering::SeqCst);
        for (task, caller) in self.callers.into_iter().enumerate() {
            if let Err(panic) = bounded(PHASE_BOUND, "a caller stopping", caller).await {
                lock(&self.tally.errors).push(format!("caller {task} panicked: {panic}"));
            }
        }
        let tally = &self.tally;
        Outcome {
            calls: tally.calls.load(Ordering::SeqCst),
            reads: tally.reads.load(Ordering::SeqCst),
            updates: tally.updates.load(Ordering::SeqCst),
            errors: std::mem::take(&mut lock(&tally.errors)),
            stale: std::mem::take(&mut lock(&tally.stale)),
            slowest: Duration::from_micros(tally.slowest_micros.load(Ordering::SeqCst)),
        }
    }
}

impl Outcome {
    /// No caller error, no stale read, no call at or over [`CALL_BOUND`].
    pub fn assert_clean(&self, what: &str) {
        assert!(
            self.errors.is_empty(),
            "{what}: {} caller errors, first: {:?}",
            self.errors.len(),
            self.errors.first()
        );
        assert!(
            self.stale.is_empty(),
            "{what}: {} stale reads, first: {:?}",
            self.stale.len(),
            self.stale.first()
        );
        assert!(
            self.slowest < CALL_BOUND,
            "{what}: the slowest of {} calls took {:?}, the bound is {CALL_BOUND:?}",
            self.calls,
            self.slowest
        );
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} calls ({} reads, {} updates) by {TASKS} tasks: {} caller errors, {} stale reads, \
             slowest call {:?}",
            self.calls,
            self.reads,
            self.updates,
            self.errors.len(),
            self.stale.len(),
            self.slowest
        )
    }
}

/// One caller: calls until told to stop, checking each result.
struct Caller<W> {
    app: Arc<W>,
    stop: Arc<AtomicBool>,
    reads_only: Arc<AtomicBool>,
    tally: Arc<Tally>,
    task: u64,
}

impl<W: Workload> Caller<W> {
    async fn run(self) {
        let (app, tally, task) = (&self.app, &self.tally, self.task);
        let mut call = 0;
        while !self.stop.load(Ordering::SeqCst) {
            let op = op(task, call, self.reads_only.load(Ordering::SeqCst));
            let row = match op {
                Op::Read(row, _) | Op::UpdateByKey(row) | Op::UpdateByTag(row) => row,
            };
            let floor = app.source().floor(row);
            let started = Instant::now();
            let done = app.run(op).await;
            let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            tally.slowest_micros.fetch_max(took, Ordering::SeqCst);
            match done {
                Done::Read(Ok(version)) => {
                    tally.reads.fetch_add(1, Ordering::SeqCst);
                    if version < floor {
                        lock(&tally.stale).push(format!(
                            "caller {task}, call {call}: {op:?} returned version {version}, \
                             after the invalidation of version {floor} had returned"
                        ));
                    }
                }
                Done::Read(Err(error)) => {
                    lock(&tally.errors)
                        .push(format!("caller {task}, call {call}: {op:?}: {error}"));
                }
                Done::Updated(version) => {
                    tally.updates.fetch_add(1, Ordering::SeqCst);
                    app.source().acknowledge(row, version);
                }
            }
            tally.calls.fetch_add(1, Ordering::SeqCst);
            call += 1;
            tokio::time::sleep(PACE).await;
        }
    }
}

/// The `call`th call of caller `task`: a row, and an update or a read, picked by a hash of
/// the two, so every run makes the same calls (reads only, if so told).
fn op(task: u64, call: u64, reads_only: bool) -> Op {
    let hash = mix(task << 32 | call);
    let row = usize::try_from(hash % LOADED_ROWS as u64).unwrap_or(0);
    let delay = Duration::from_micros((hash >> 32) % (MAX_LOAD_DELAY_MICROS + 1));
    match (hash >> 16) % 100 {
        _ if reads_only => Op::Read(row, delay),
        roll if roll < BY_KEY => Op::UpdateByKey(row),
        roll if roll < BY_KEY + BY_TAG => Op::UpdateByTag(row),
        _ => Op::Read(row, delay),
    }
}

/// splitmix64's finaliser: spreads consecutive numbers over all 64 bits.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
