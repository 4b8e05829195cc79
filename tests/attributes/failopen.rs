//! Failing open on Redis: nothing listening, a frozen server, values Redis cannot hand
//! over. Every call returns the body's value, within a bound, and the trouble is counted.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{RedisCache, cache_put, cached, invalidate, stats_for};

use crate::support::RedisServer;
use crate::support::wait::{bounded, eventually};

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

#[cached(key = "frozen:{id}", cache = cache)]
async fn frozen_read(cache: &RedisCache, calls: &AtomicUsize, id: u32) -> u32 {
    calls.fetch_add(1, Ordering::SeqCst) as u32 + id
}

#[cache_put(key = "frozen:{id}", cache = cache)]
async fn frozen_write(cache: &RedisCache, id: u32) -> u32 {
    id * 10
}

#[invalidate(key = "frozen:{id}", cache = cache)]
async fn frozen_remove(cache: &RedisCache, id: u32) -> u32 {
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_every_call_returns_the_body_value() {
    let server = RedisServer::start();
    let cache = cache_for(server.url());
    let calls = AtomicUsize::new(0);
    // Connected and cached before the freeze.
    assert_eq!(frozen_read(&cache, &calls, 100).await, 100);
    assert_eq!(frozen_read(&cache, &calls, 100).await, 100);
    let before = counters("frozen_read");

    server.freeze();
    // A stored key cannot be read: the body runs and its value is returned.
    assert_eq!(
        timed("a read of a stored key", frozen_read(&cache, &calls, 100)).await,
        101
    );
    assert_eq!(
        timed("a read of a new key", frozen_read(&cache, &calls, 200)).await,
        202
    );
    assert_eq!(timed("a put", frozen_write(&cache, 300)).await, 3000);
    assert_eq!(
        timed("an invalidation", frozen_remove(&cache, 100)).await,
        100
    );
    let after = counters("frozen_read");
    assert_eq!(
        after[3] - before[3],
        2,
        "one timeout per read: no write was tried"
    );
    assert_eq!(after[2] - before[2], 2, "two loads");
    assert!(counters("frozen_write")[3] >= 1);
    assert!(counters("frozen_remove")[3] >= 1);

    server.thaw();
    // Whatever the server had queued is done once it answers a PING on a new connection.
    let _: String = redis::cmd("PING").query(&mut server.raw()).unwrap();
    let stored: Option<String> = redis::cmd("GET")
        .arg("frozen:200")
        .query(&mut server.raw())
        .unwrap();
    assert_eq!(stored, None, "a read that timed out does not try to store");
    // And caching resumes.
    let cache_ref = &cache;
    eventually(Duration::from_secs(5), "caching resuming", || async move {
        cache_ref.ping().await.is_ok()
    })
    .await;
    let calls_before = calls.load(Ordering::SeqCst);
    assert_eq!(
        frozen_read(&cache, &calls, 400).await,
        400 + calls_before as u32
    );
    assert_eq!(
        frozen_read(&cache, &calls, 400).await,
        400 + calls_before as u32
    );
    assert_eq!(calls.load(Ordering::SeqCst), calls_before + 1);
}

#[cached(key = "typed:{id}", ttl = "1m", cache = cache)]
async fn typed_read(cache: &RedisCache, calls: &AtomicUsize, id: u32) -> Vec<String> {
    calls.fetch_add(1, Ordering::SeqCst);
    vec![format!("v{id}")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_redis_cannot_hand_over_are_misses_and_overwritten() {
    let server = RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .op_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let calls = AtomicUsize::new(0);
    let mut raw = server.raw();
    // A list: GET answers WRONGTYPE.
    let _: i64 = redis::cmd("RPUSH")
        .arg("typed:1")
        .arg("a")
        .arg("b")
        .query(&mut raw)
        .unwrap();
    // Not UTF-8.
    let _: () = redis::cmd("SET")
        .arg("typed:2")
        .arg(&[0xff_u8, 0xfe, 0x00][..])
        .query(&mut raw)
        .unwrap();
    let errors_before = counters("typed_read")[3];

    for id in [1, 2] {
        let key = format!("typed:{id}");
        assert_eq!(typed_read(&cache, &calls, id).await, [format!("v{id}")]);
        let kind: String = redis::cmd("TYPE").arg(&key).query(&mut raw).unwrap();
        assert_eq!(kind, "string", "{key}: SET replaced the bad value");
        let stored: String = redis::cmd("GET").arg(&key).query(&mut raw).unwrap();
        assert_eq!(stored, format!(r#"["v{id}"]"#));
        let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut raw).unwrap();
        assert!((50_000..=60_000).contains(&pttl), "{key}: PTTL {pttl}");
        // Now a hit.
        assert_eq!(typed_read(&cache, &calls, id).await, [format!("v{id}")]);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        counters("typed_read")[3] >= errors_before + 2,
        "the bad reads were counted"
    );
}

#[cached(key = "restart:{id}", cache = cache)]
async fn across_restart(cache: &RedisCache, calls: &AtomicUsize, id: u32) -> u32 {
    calls.fetch_add(1, Ordering::SeqCst);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_fails_open_and_caching_resumes_after_restart() {
    let mut server = RedisServer::start();
    let cache = cache_for(server.url());
    let calls = AtomicUsize::new(0);
    assert_eq!(across_restart(&cache, &calls, 1).await, 1);
    server.stop();
    for _ in 0..2 {
        assert_eq!(
            timed("a read while stopped", across_restart(&cache, &calls, 1)).await,
            1
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3, "stopped: every call loads");

    server.restart();
    // The restarted server is empty; the first call that reaches it stores again.
    let (calls, cache, server) = (&calls, &cache, &server);
    eventually(
        Duration::from_secs(5),
        "a read storing again",
        || async move {
            across_restart(cache, calls, 1).await;
            let stored: Option<String> = redis::cmd("GET")
                .arg("restart:1")
                .query(&mut server.raw())
                .unwrap();
            stored.is_some()
        },
    )
    .await;
    let loads = calls.load(Ordering::SeqCst);
    assert_eq!(across_restart(cache, calls, 1).await, 1);
    assert_eq!(calls.load(Ordering::SeqCst), loads, "a hit");
}

#[invalidate(key = "many:{id}", pattern = "many:{id}:*", key = "many:all", cache = cache)]
async fn frozen_remove_many(cache: &RedisCache, id: u32) -> u32 {
    id
}

/// The README: "every call during an outage pays one connection attempt or one
/// `op_timeout`".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_costs_an_invalidation_one_op_timeout() {
    let server = RedisServer::start();
    let cache = cache_for(server.url());
    cache.ping().await.unwrap();
    server.freeze();
    let started = Instant::now();
    assert_eq!(
        timed("an invalidation", frozen_remove_many(&cache, 1)).await,
        1
    );
    let took = started.elapsed();
    assert!(
        took < OP_TIMEOUT * 2,
        "an invalidation of 3 targets took {took:?} with op_timeout {OP_TIMEOUT:?}"
    );
}
