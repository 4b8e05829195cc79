//! Failing open on Redis with nothing listening: every call returns the body's value, within
//! a bound, and the trouble is counted. (A frozen server is in `tests/faults/freeze.rs`, a
//! stopped and restarted one in `tests/faults/kill.rs` and `tests/faults/down.rs`, values
//! Redis cannot hand over in `tests/attributes/corrupt.rs`.)

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cache_aside::{RedisCache, cache_put, cached, invalidate, stats_for};

use crate::support::wait::bounded;

/// Short, so that calls against a server that does not answer are quick.
const OP_TIMEOUT: Duration = Duration::from_millis(300);
/// The bound on one call that fails open: the deadline plus generous slack.
const CALL_BOUND: Duration = Duration::from_secs(2);

/// `[hits, misses, loads, failed, invalidations]` of `attributes::failopen::{name}`, where
/// `failed` counts cache operations that failed (`errors`) or were skipped because the
/// circuit breaker had opened (`bypassed`).
fn counters(name: &str) -> [u64; 5] {
    stats_for(&format!("attributes::failopen::{name}")).map_or([0; 5], |s| {
        [
            s.hits,
            s.misses,
            s.loads,
            s.errors + s.bypassed,
            s.invalidations,
        ]
    })
}

/// A URL where nothing listens: a port that was free a moment ago.
fn dead_url() -> String {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("redis://127.0.0.1:{port}")
}

fn cache_for(url: String) -> RedisCache {
    RedisCache::builder(url)
        .op_timeout(OP_TIMEOUT)
        .build()
        .unwrap()
}

/// Runs `call` with a bound, failing the test if it takes longer.
async fn timed<F: std::future::Future>(what: &str, call: F) -> F::Output {
    let started = Instant::now();
    let output = bounded(CALL_BOUND, what, call).await;
    assert!(
        started.elapsed() < CALL_BOUND,
        "{what} took {:?}",
        started.elapsed()
    );
    output
}

#[cached(key = "dead:{id}", ttl = 60, cache = cache)]
async fn dead_read(cache: &RedisCache, calls: &AtomicUsize, id: u32) -> Result<u32, String> {
    calls.fetch_add(1, Ordering::SeqCst);
    Ok(id)
}

#[cached(key = "dead:opt:{id}", cache = cache, cache_none = true)]
async fn dead_optional(cache: &RedisCache, id: u32) -> Option<u32> {
    (id > 1).then_some(id)
}

#[cache_put(key = "dead:{id}", cache = cache)]
async fn dead_write(cache: &RedisCache, id: u32) -> Result<u32, String> {
    Ok(id + 1)
}

#[invalidate(key = "dead:{id}", pattern = "dead:{id}:*", cache = cache)]
async fn dead_remove(cache: &RedisCache, id: u32) -> Result<&'static str, String> {
    Ok("removed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_every_call_returns_the_body_value() {
    let cache = cache_for(dead_url());
    let calls = AtomicUsize::new(0);
    let started = Instant::now();
    for round in 1..=3 {
        assert_eq!(timed("a read", dead_read(&cache, &calls, 1)).await, Ok(1));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            round,
            "no caching: the body runs"
        );
        assert_eq!(
            timed("an optional read", dead_optional(&cache, 1)).await,
            None
        );
        assert_eq!(timed("a put", dead_write(&cache, 1)).await, Ok(2));
        assert_eq!(
            timed("an invalidation", dead_remove(&cache, 1)).await,
            Ok("removed")
        );
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "12 calls took {took:?}");

    // One failed operation per call: after a connection error, a read does not try to
    // store. An invalidation tries each of its targets.
    assert_eq!(counters("dead_read"), [0, 3, 3, 3, 0]);
    assert_eq!(counters("dead_optional"), [0, 3, 3, 3, 0]);
    assert_eq!(counters("dead_write"), [0, 0, 3, 3, 0]);
    assert_eq!(counters("dead_remove"), [0, 0, 3, 6, 0]);
}
