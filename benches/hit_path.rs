//! What a cache hit costs through each layer, against redis-rs on its own, in one run.
//!
//!     cargo bench --bench hit_path
//!
//! Spawns its own `redis-server` (never 6379). Compare the Redis rows with
//! `redis/raw ConnectionManager GET`, and the memory rows with each other: the ratios are the
//! overhead this library adds.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{MemoryCache, RedisCache, SharedCache, get_or_load};
use criterion::{Criterion, criterion_group, criterion_main};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    email: String,
}

fn user() -> User {
    User {
        id: 42,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
    }
}

async fn never_called() -> Result<User, std::io::Error> {
    Err(std::io::Error::other("the benchmark only measures hits"))
}

fn hit_path(c: &mut Criterion) {
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
    let prefixed = redis.with_prefix("app:");
    let shared = SharedCache::new(redis.clone());
    let memory = MemoryCache::new();
    let raw: ConnectionManager = runtime.block_on(async {
        let client = redis::Client::open(server.url()).expect("a valid URL");
        ConnectionManager::new(client).await.expect("a connection")
    });
    runtime.block_on(async {
        for cache in [&redis, &prefixed] {
            cache.set_json("user:42", &user(), None).await.expect("set");
        }
        memory
            .set_json("user:42", &user(), None)
            .await
            .expect("set");
    });

    let mut group = c.benchmark_group("redis");
    group.bench_function("raw ConnectionManager GET", |b| {
        b.to_async(&runtime).iter(|| {
            let mut raw = raw.clone();
            async move {
                let value: Option<String> = redis::cmd("GET")
                    .arg("user:42")
                    .query_async(&mut raw)
                    .await
                    .expect("GET");
                black_box(value)
            }
        })
    });
    group.bench_function("RedisCache::get", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(redis.get("user:42").await.expect("get")) })
    });
    group.bench_function("RedisCache::get with prefix", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(prefixed.get("user:42").await.expect("get")) })
    });
    group.bench_function("SharedCache::get", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(shared.get("user:42").await.expect("get")) })
    });
    group.bench_function("get_or_load hit", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                get_or_load(&redis, "user:42", None, never_called)
                    .await
                    .expect("hit"),
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("memory");
    group.bench_function("MemoryCache::get", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(memory.get("user:42").await.expect("get")) })
    });
    group.bench_function("get_or_load hit", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                get_or_load(&memory, "user:42", None, never_called)
                    .await
                    .expect("hit"),
            )
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
    targets = hit_path
}
criterion_main!(benches);
