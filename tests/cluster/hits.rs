//! Watching a function's hits (`stats_for`): whether they resume, and when they stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cache_aside::stats_for;
use tokio::task::JoinHandle;

use crate::load::Load;
use crate::rig::RECOVERY;
use crate::support::wait::bounded;
use crate::workload::Workload;

/// Hits that show the cache serving again.
pub const RESUMED_HITS: u64 = 100;
/// How often [`HitWatch`] looks at the hits.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// Has the callers of `load` only read from now on, and waits (bounded) until the hits of
/// `app`'s read resume; how long that took.
pub async fn resumed_reading<W: Workload>(load: &Load, app: &W) -> Duration {
    load.reads_only();
    let since = Instant::now();
    assert!(
        hits_grow(W::READ, RECOVERY).await,
        "hits did not resume within {RECOVERY:?} once the callers only read: {:?}",
        app.cache().health()
    );
    since.elapsed()
}

/// Waits up to `limit` for `function`'s hits to grow by [`RESUMED_HITS`]; whether they did.
pub async fn hits_grow(function: &str, limit: Duration) -> bool {
    let target = hits(function) + RESUMED_HITS;
    let deadline = Instant::now() + limit;
    while hits(function) < target {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// The hits of the function `stats_for` knows as `function`.
pub fn hits(function: &str) -> u64 {
    stats_for(function).map_or(0, |stats| stats.hits)
}

/// Looks at a function's hits every few milliseconds, to find when they stopped and when
/// they resumed.
pub struct HitWatch {
    samples: Arc<Mutex<Vec<(Instant, u64)>>>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

/// What a [`HitWatch`] saw: when, and how many hits so far.
pub struct Samples(Vec<(Instant, u64)>);

impl HitWatch {
    pub fn start(function: &'static str) -> HitWatch {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (samples, stop) = (Arc::clone(&samples), Arc::clone(&stop));
            async move {
                while !stop.load(Ordering::SeqCst) {
                    let sample = (Instant::now(), hits(function));
                    samples
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(sample);
                    tokio::time::sleep(SAMPLE_EVERY).await;
                }
            }
        });
        HitWatch {
            samples,
            stop,
            task,
        }
    }

    pub async fn stop(self) -> Samples {
        self.stop.store(true, Ordering::SeqCst);
        bounded(RECOVERY, "the hit watch stopping", self.task)
            .await
            .expect("the hit watch did not panic");
        Samples(std::mem::take(
            &mut self.samples.lock().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

impl Samples {
    /// The longest time after `since` in which the hits did not grow: when it began and when
    /// it ended (the first hit after it), both measured from `since`.
    pub fn longest_stall(&self, since: Instant) -> (Duration, Duration) {
        let mut last_growth = since;
        let mut previous = None;
        let mut longest = (Duration::ZERO, Duration::ZERO);
        for &(at, hits) in self.0.iter().filter(|(at, _)| *at >= since) {
            if previous.is_some_and(|previous| hits > previous) {
                if at - last_growth > longest.1 - longest.0 {
                    longest = (last_growth - since, at - since);
                }
                last_growth = at;
            }
            previous = Some(hits);
        }
        longest
    }
}
