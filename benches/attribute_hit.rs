//! What a hit through `#[cached]` costs against the same hit written by hand with the
//! runtime helper `get_or_load`, on Redis and on memory, in one run.
//!
//!     cargo bench --bench attribute_hit
//!
//! Both sides format the same key and decode the same value; the difference is what the
//! attribute adds: its statistics, its single-flight bookkeeping and its fail-open paths.
//! The last group measures how an attribute without `cache = ...` finds its cache (the
//! process-wide one here, a `MemoryCache`) against naming `cache_aside::global()`, and
//! inside a `cache_aside::scope` around the measured calls.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{MemoryCache, RedisCache, cached, get_or_load};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    email: String,
}

fn user(id: u64) -> User {
    User {
        id,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
    }
}

async fn never_called() -> Result<User, std::io::Error> {
    Err(std::io::Error::other("the benchmark only measures hits"))
}

/// The hand-written baseline.
async fn by_hand<C: Cache>(cache: &C, id: u64) -> Result<User, std::io::Error> {
    let key = format!("user:{id}");
    get_or_load(cache, &key, Some(Duration::from_secs(3600)), never_called).await
}

#[cached(key = "user:{id}", ttl = 3600, cache = cache)]
async fn on_redis(cache: &RedisCache, id: u64) -> Result<User, std::io::Error> {
    never_called().await
}

#[cached(key = "user:{id}", ttl = 3600, cache = cache)]
async fn on_memory(cache: &MemoryCache, id: u64) -> Result<User, std::io::Error> {
    never_called().await
}

#[cached(key = "user:{id}", ttl = 3600, cache = cache_aside::global())]
async fn on_named_global(id: u64) -> Result<User, std::io::Error> {
    never_called().await
}

#[cached(key = "user:{id}", ttl = 3600)]
async fn on_default(id: u64) -> Result<User, std::io::Error> {
    never_called().await
}

fn attribute_hit(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let server = support::RedisServer::start();
    let redis = RedisCache::builder(server.url())
        .op_timeout(Duration::from_secs(5))
        .build()
        .expect("a valid URL");
    let memory = MemoryCache::new();
    cache_aside::set_global_default(MemoryCache::new()).expect("the first install");
    runtime.block_on(async {
        cache_aside::global()
            .set_json("user:42", &user(42), None)
            .await
            .expect("set");
        redis
            .set_json("user:42", &user(42), None)
            .await
            .expect("set");
        memory
            .set_json("user:42", &user(42), None)
            .await
            .expect("set");
    });

    let mut group = c.benchmark_group("redis hit");
    group.bench_function("get_or_load by hand", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(by_hand(&redis, 42).await.expect("hit")) })
    });
    group.bench_function("#[cached]", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(on_redis(&redis, 42).await.expect("hit")) })
    });
    group.finish();

    let mut group = c.benchmark_group("memory hit");
    group.bench_function("get_or_load by hand", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(by_hand(&memory, 42).await.expect("hit")) })
    });
    group.bench_function("#[cached]", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(on_memory(&memory, 42).await.expect("hit")) })
    });
    group.finish();

    let mut group = c.benchmark_group("default cache hit");
    group.bench_function("cache = global()", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(on_named_global(42).await.expect("hit")) })
    });
    group.bench_function("no cache", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(on_default(42).await.expect("hit")) })
    });
    let scoped = MemoryCache::new();
    runtime.block_on(async {
        scoped
            .set_json("user:42", &user(42), None)
            .await
            .expect("set");
    });
    group.bench_function("no cache, in a scope", |b| {
        // One scope around the measured calls, as a test has one around its calls.
        b.to_async(&runtime).iter_custom(|iters| {
            cache_aside::scope(scoped.clone(), async move {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(on_default(42).await.expect("hit"));
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = attribute_hit
}
criterion_main!(benches);
