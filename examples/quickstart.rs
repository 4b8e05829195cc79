//! The quickstart: cache a slow lookup with `#[cached]`, drop it after a write with
//! `#[invalidate]`.
//!
//! Runs with no server at all, on process memory:
//!     cargo run --example quickstart
//! and on Redis when REDIS_URL is set:
//!     REDIS_URL=redis://127.0.0.1:6379 cargo run --example quickstart

use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{cached, invalidate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[derive(Debug)]
struct DbError;

/// Reads a user; the first call per id takes 200 ms, the next ones come from the cache. The
/// entry is recorded under the tag `user:{id}`, with everything else cached about the user.
#[cached(key = "user:{id}", ttl = 3600, tags = ["user:{id}"])]
async fn get_user(id: u64) -> Result<User, DbError> {
    tokio::time::sleep(Duration::from_millis(200)).await; // stands in for a slow query
    Ok(User {
        id,
        name: format!("user {id}"),
    })
}

/// Writes a user, then deletes the user's entry and everything recorded under the user's
/// tag. (A pattern such as `"user:{id}*"` would also delete users 10, 12 and 100 for id 1:
/// prefer keys and tags, or end a pattern's fixed part with a separator, `"user:{id}:*"`.)
/// A failed invalidation is logged, and kept for replay on Redis; the write still succeeded.
#[invalidate(key = "user:{id}", tags = ["user:{id}"])]
async fn rename_user(id: u64, name: &str) -> Result<(), DbError> {
    let _ = (id, name); // the database write
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let backend = match std::env::var("REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => "Redis (REDIS_URL)",
        _ => "process memory (set REDIS_URL to use Redis)",
    };
    cache_aside::set_global_default(cache_aside::from_env()?)?;
    println!("cache: {backend}");

    // The first call loads (200 ms); the next ones are hits, unless the cache is unreachable,
    // in which case every call simply loads: the cache fails open.
    for call in 1..=3 {
        let started = Instant::now();
        let user = get_user(42).await.map_err(|_| "database error")?;
        println!(
            "call {call}: get_user(42) = {user:?} in {:?}",
            started.elapsed()
        );
    }

    rename_user(42, "Grace")
        .await
        .map_err(|_| "database error")?;
    let started = Instant::now();
    get_user(42).await.map_err(|_| "database error")?;
    println!("after rename_user(42): reloaded in {:?}", started.elapsed());

    for stats in cache_aside::stats() {
        println!(
            "{}: {} hits, {} misses, {} loads, {} cache errors",
            stats.function, stats.hits, stats.misses, stats.loads, stats.errors
        );
    }

    // The port's own methods report cache trouble to the caller, who decides.
    match cache_aside::global().increment("visits", 1).await {
        Ok(visits) => println!("visits counter: {visits}"),
        Err(error) => println!("visits counter unavailable: {error}"),
    }
    Ok(())
}
