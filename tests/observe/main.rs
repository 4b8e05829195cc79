//! What a service sees of the library: each `#[cached]` call as a `tracing` span (`spans`),
//! and `stats()` and `health()` as data that serializes and prints (`data`). The metrics of
//! the `metrics` feature have a binary of their own (`tests/metrics`), since a recorder is
//! process-wide.

#[path = "../support/mod.rs"]
mod support;

mod alloc;
mod capture;
mod data;
mod spans;

use std::time::Duration;

use cache_aside::RedisCache;
use support::RedisServer;

/// A Redis cache whose server was stopped, with a breaker that opens at the first failure;
/// the stopped server is kept so that no other test's server takes its port.
fn unreachable_cache() -> (RedisServer, RedisCache) {
    let mut server = RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .failure_threshold(1)
        .op_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    server.stop();
    (server, cache)
}

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;
