//! What a `#[cached]` call costs while Redis is healthy, stopped or frozen, next to calling
//! its body directly, in one run.
//!
//!     cargo bench --bench outage
//!
//! The body sleeps 1 ms, standing for a database query. Each scenario makes sequential calls
//! and prints the median and the 99th percentile of their latency:
//!
//! - `body`: the body called directly, the baseline;
//! - `healthy hit`: Redis answers and holds the value;
//! - `stopped, breaker open`: the server was killed and the breaker has opened;
//! - `frozen, breaker closed`: the server is stopped with SIGSTOP, and the call is one of
//!   the first `failure_threshold`, which wait for `op_timeout` (a new cache per sample);
//! - `frozen, breaker open`: the same freeze, after the breaker opened.
//!
//! Not a Criterion benchmark: Criterion reports means and confidence intervals, while the
//! question here is the tail (p99) and a few scenarios need a fresh cache per sample.

#[path = "../tests/support/mod.rs"]
mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{BreakerState, RedisCache, cached};
use support::RedisServer;

const BODY: Duration = Duration::from_millis(1);
const OP_TIMEOUT: Duration = Duration::from_millis(50);
const SAMPLES: usize = 2000;
/// Each sample of the "before the breaker opens" scenario waits for `OP_TIMEOUT`.
const TIMEOUT_SAMPLES: usize = 100;

/// Blocks its worker for `BODY`: a Tokio timer would round 1 ms up to its next tick (about
/// 2 ms), and the calls are sequential, so blocking delays nothing else.
async fn body(id: u64) -> u64 {
    std::thread::sleep(BODY);
    id
}

#[cached(key = "bench:{id}", ttl = 3600, cache = cache)]
async fn cached_body(cache: &RedisCache, id: u64) -> u64 {
    body(id).await
}

fn cache_for(server: &RedisServer) -> RedisCache {
    RedisCache::builder(server.url())
        .op_timeout(OP_TIMEOUT)
        // Long enough that no probe runs during a scenario.
        .cool_down(Duration::from_secs(600))
        .build()
        .expect("the harness URL is valid")
}

/// Latencies of `samples` sequential calls, sorted.
async fn measure<F: Future<Output = u64>>(
    samples: usize,
    mut call: impl FnMut() -> F,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        std::hint::black_box(call().await);
        latencies.push(started.elapsed());
    }
    latencies.sort();
    latencies
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let at = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[at]
}

fn report(name: &str, latencies: &[Duration], baseline: Duration) {
    let median = percentile(latencies, 0.5);
    let p99 = percentile(latencies, 0.99);
    let added = median.as_secs_f64() - baseline.as_secs_f64();
    println!(
        "{name:<26} {:>6} {:>10.3} ms {:>10.3} ms {:>8.2}x {:>+10.1} µs",
        latencies.len(),
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        median.as_secs_f64() / baseline.as_secs_f64(),
        added * 1e6,
    );
}

async fn wait_for(cache: &RedisCache, state: BreakerState) {
    let started = Instant::now();
    while cache.health().state != state {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the breaker never became {state:?}"
        );
        // Each call is a failure the breaker counts.
        cached_body(cache, 0).await;
    }
}

async fn run() {
    println!(
        "body sleeps {BODY:?}; op_timeout {OP_TIMEOUT:?}; failure_threshold {}\n",
        cache_aside::DEFAULT_FAILURE_THRESHOLD
    );
    println!(
        "{:<26} {:>6} {:>13} {:>13} {:>9} {:>13}",
        "scenario", "calls", "median", "p99", "vs body", "median added"
    );

    let direct = measure(SAMPLES, || body(1)).await;
    let baseline = percentile(&direct, 0.5);
    report("body", &direct, baseline);

    let mut server = RedisServer::start();
    let cache = cache_for(&server);
    cached_body(&cache, 1).await;
    let hits = measure(SAMPLES, || cached_body(&cache, 1)).await;
    report("healthy hit", &hits, baseline);

    // Frozen, before the breaker opens: each sample is the first call on a new cache.
    let mut first_calls = Vec::with_capacity(TIMEOUT_SAMPLES);
    for _ in 0..TIMEOUT_SAMPLES {
        let fresh = cache_for(&server);
        fresh
            .ping()
            .await
            .expect("the server answers before the freeze");
        server.freeze();
        let started = Instant::now();
        std::hint::black_box(cached_body(&fresh, 2).await);
        first_calls.push(started.elapsed());
        server.thaw();
    }
    first_calls.sort();
    report("frozen, breaker closed", &first_calls, baseline);

    server.freeze();
    wait_for(&cache, BreakerState::Open).await;
    let frozen_open = measure(SAMPLES, || cached_body(&cache, 3)).await;
    report("frozen, breaker open", &frozen_open, baseline);
    server.thaw();

    let stopped_cache = cache_for(&server);
    stopped_cache.ping().await.expect("the server answers");
    server.stop();
    wait_for(&stopped_cache, BreakerState::Open).await;
    let stopped = measure(SAMPLES, || cached_body(&stopped_cache, 4)).await;
    report("stopped, breaker open", &stopped, baseline);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and a run of several
    // minutes is not a test.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
        .block_on(run());
}
