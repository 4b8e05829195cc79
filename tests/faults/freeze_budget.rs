//! Issue 10, defect 5 (a freeze costs more than one deadline): with Redis frozen (SIGSTOP)
//! under 64 tasks reading and invalidating a few hot keys on one handle, a `#[cached]`
//! call waits at most about one `op_timeout` for the cache, in total.
//!
//! The issue measured calls of up to 3.6 × `op_timeout` (a call paying its own deadline,
//! then waiting for a leader that pays its own). The bound here is 2 × `op_timeout` plus
//! the body's time and 100 ms of slack for a loaded machine. On this machine today's code
//! stays mostly under it (1.0 to 2.3 × in the runs made when the test was written, the
//! worst from calls that started at the freeze and waited for a leader's deadline after
//! their own), so the test guards the bound rather than reproducing the figure.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_aside::{RedisCache, cached, invalidate};

use crate::common::{OP_TIMEOUT, RECOVERY, RedisServer, eventually, fast_failing, until_closed};

const TASKS: u64 = 64;
const HOT_KEYS: u64 = 4;
/// The body's own time.
const BODY: Duration = Duration::from_millis(5);
/// How long the server stays frozen: long enough for the breaker to open, probe and open
/// again.
const FROZEN: Duration = Duration::from_millis(1500);
/// The pause between two calls of a task.
const PACE: Duration = Duration::from_millis(10);
/// Slack for a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(100);

/// What the tasks saw.
#[derive(Default)]
struct Run {
    stop: AtomicBool,
    calls: AtomicU64,
    /// The slowest `#[cached]` call, in microseconds.
    slowest: AtomicU64,
}

/// A short TTL, so that the keys are missed and loaded (under leases) all through the run.
#[cached(key = "budget:{id}", ttl = Duration::from_millis(30), lease = "3s", cache = cache)]
async fn hot(cache: &RedisCache, id: u64) -> u64 {
    tokio::time::sleep(BODY).await;
    id * 7
}

#[invalidate(key = "budget:{id}", cache = cache)]
async fn touch(cache: &RedisCache, id: u64) {}

async fn task(cache: RedisCache, run: Arc<Run>, n: u64) {
    let mut step = n;
    while !run.stop.load(Ordering::SeqCst) {
        step = step.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let id = (step >> 33) % HOT_KEYS;
        if (step >> 40).is_multiple_of(8) {
            touch(&cache, id).await;
        } else {
            let started = Instant::now();
            assert_eq!(hot(&cache, id).await, id * 7);
            let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            run.slowest.fetch_max(took, Ordering::SeqCst);
        }
        run.calls.fetch_add(1, Ordering::SeqCst);
        // Pacing, so that 64 tasks do not saturate a 2-core machine and the bound measures
        // the cache, not the scheduler.
        tokio::time::sleep(PACE).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_costs_a_call_one_deadline_in_all() {
    let server = RedisServer::start();
    let cache = fast_failing(server.url()).build().expect("a valid URL");
    let run = Arc::new(Run::default());
    let tasks: Vec<_> = (0..TASKS)
        .map(|n| tokio::spawn(task(cache.clone(), Arc::clone(&run), n)))
        .collect();

    // Mid-run: once the tasks have made some calls against a healthy server.
    eventually(RECOVERY, "the tasks running", || async {
        run.calls.load(Ordering::SeqCst) >= 1_000
    })
    .await;
    let healthy = Duration::from_micros(run.slowest.swap(0, Ordering::SeqCst));
    server.freeze();
    // The length of the fault, not a synchronisation.
    tokio::time::sleep(FROZEN).await;
    server.thaw();
    until_closed(&cache, "the breaker closing after SIGCONT").await;
    let calls = run.calls.load(Ordering::SeqCst);
    eventually(RECOVERY, "the tasks running after the thaw", || async {
        run.calls.load(Ordering::SeqCst) >= calls + 1_000
    })
    .await;
    run.stop.store(true, Ordering::SeqCst);
    tokio::time::timeout(RECOVERY, async {
        for task in tasks {
            task.await.expect("a task panicked");
        }
    })
    .await
    .expect("the tasks stopped");

    let slowest = Duration::from_micros(run.slowest.load(Ordering::SeqCst));
    let bound = 2 * OP_TIMEOUT + BODY + SLACK;
    println!(
        "freeze budget: slowest #[cached] call {slowest:?} = {:.1} x op_timeout {OP_TIMEOUT:?} \
         (before the freeze {healthy:?}; bound {bound:?})",
        slowest.as_secs_f64() / OP_TIMEOUT.as_secs_f64()
    );
    assert!(
        slowest < bound,
        "a #[cached] call took {slowest:?} ({:.1} x op_timeout {OP_TIMEOUT:?}) while the server \
         was frozen; the bound is {bound:?}",
        slowest.as_secs_f64() / OP_TIMEOUT.as_secs_f64()
    );
}
