//! SIGKILL of the server in the middle of a load of many concurrent callers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cache_aside::{RedisCache, cached};

use crate::common::{RECOVERY, RedisServer, blocking, counters, eventually, fast_failing, timed};

/// Concurrent callers.
const TASKS: u64 = 64;
/// Calls each caller makes at least: thousands in all.
const MIN_CALLS_PER_TASK: u64 = 60;
/// Keys the callers spread over: few enough that most calls are hits.
const KEYS: u64 = 32;
/// Calls to see in each phase (before the kill, during the outage, after the restart).
const CALLS_PER_PHASE: u64 = 1000;
/// A bound on one call: 64 callers share 2 loaded cores, so this is only "did not hang".
const SLOWEST_CALL_BOUND: Duration = Duration::from_secs(5);
/// A bound on each phase of the load.
const PHASE_BOUND: Duration = Duration::from_secs(60);

fn value_of(id: u64) -> u64 {
    id * 1_000 + 7
}

#[cached(key = "load:{id}", ttl = 600, cache = cache)]
async fn load(cache: &RedisCache, id: u64) -> Result<u64, String> {
    tokio::task::yield_now().await;
    Ok(value_of(id))
}

/// What the callers share.
#[derive(Default)]
struct Load {
    calls: AtomicU64,
    stop: AtomicBool,
    slowest_micros: AtomicU64,
    wrong: Mutex<Vec<String>>,
}

impl Load {
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    async fn at_least(&self, calls: u64, what: &str) {
        let this = self;
        eventually(PHASE_BOUND, what, || async move { this.calls() >= calls }).await;
    }
}

async fn caller(cache: RedisCache, load_state: Arc<Load>, task: u64) {
    let mut done = 0;
    while done < MIN_CALLS_PER_TASK || !load_state.stop.load(Ordering::SeqCst) {
        let id = (task * 7 + done) % KEYS;
        let started = Instant::now();
        let result = load(&cache, id).await;
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        load_state.slowest_micros.fetch_max(took, Ordering::SeqCst);
        if result != Ok(value_of(id)) {
            load_state
                .wrong
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(format!("task {task}, call {done}: load({id}) = {result:?}"));
        }
        load_state.calls.fetch_add(1, Ordering::SeqCst);
        done += 1;
    }
}

/// 64 callers make thousands of calls; the server is SIGKILLed part-way and restarted on the
/// same port later. No caller sees an error, a panic or a wrong value, no call hangs, the
/// breaker opens during the outage, and hits come back within a few seconds of the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_load_changes_no_result_and_hits_return_after_restart() {
    let mut server = RedisServer::start();
    let cache = fast_failing(server.url()).build().unwrap();
    let state = Arc::new(Load::default());
    let callers: Vec<_> = (0..TASKS)
        .map(|task| tokio::spawn(caller(cache.clone(), Arc::clone(&state), task)))
        .collect();

    state
        .at_least(CALLS_PER_PHASE, "calls before the kill")
        .await;
    assert!(
        counters("kill::load").hits > 0,
        "caching works before the kill"
    );

    blocking(|| server.stop());
    let killed_at = state.calls();
    let cache_ref = &cache;
    eventually(
        RECOVERY,
        "the breaker opening after the kill",
        || async move { cache_ref.health().times_opened >= 1 },
    )
    .await;
    state
        .at_least(killed_at + CALLS_PER_PHASE, "calls during the outage")
        .await;
    let during = counters("kill::load");
    assert!(
        during.bypassed > 0,
        "calls went round the open breaker: {during:?}"
    );

    blocking(|| server.restart());
    let restarted = Instant::now();
    let hits_at_restart = counters("kill::load").hits;
    eventually(RECOVERY, "hits after the restart", || async move {
        counters("kill::load").hits >= hits_at_restart + 100
    })
    .await;
    let back_after = restarted.elapsed();
    let calls_at_recovery = state.calls();
    state
        .at_least(
            calls_at_recovery + CALLS_PER_PHASE,
            "calls after the recovery",
        )
        .await;

    state.stop.store(true, Ordering::SeqCst);
    for caller in callers {
        let (joined, _) = timed(PHASE_BOUND, "a caller finishing", caller).await;
        joined.expect("no caller panicked");
    }
    let wrong = state.wrong.lock().unwrap_or_else(PoisonError::into_inner);
    assert!(
        wrong.is_empty(),
        "{} wrong results, first: {:?}",
        wrong.len(),
        wrong.first()
    );
    let total = state.calls();
    assert!(total >= TASKS * MIN_CALLS_PER_TASK, "{total} calls");
    let slowest = Duration::from_micros(state.slowest_micros.load(Ordering::SeqCst));
    assert!(
        slowest < SLOWEST_CALL_BOUND,
        "the slowest of {total} calls took {slowest:?}"
    );
    assert!(is_recovered(&cache), "{:?}", cache.health());
    eprintln!("kill: {total} calls, slowest {slowest:?}, hits back {back_after:?} after restart");
}

fn is_recovered(cache: &RedisCache) -> bool {
    crate::common::is_closed(cache) && cache.health().pending_invalidations == 0
}
