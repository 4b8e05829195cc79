//! The quickstart: cache a slow lookup, then invalidate it after a write.
//!
//! Runs with no server at all, on process memory:
//!     cargo run --example quickstart
//! and on Redis when REDIS_URL is set:
//!     REDIS_URL=redis://127.0.0.1:6379 cargo run --example quickstart

use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[derive(Debug)]
struct DbError;

/// Stands in for a database query that takes a while.
async fn find_user(id: u64) -> Result<User, DbError> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(User {
        id,
        name: format!("user {id}"),
    })
}

async fn get_user(id: u64) -> Result<User, DbError> {
    let key = format!("user:{id}");
    let ttl = Some(Duration::from_secs(3600));
    cache_aside::get_or_load(cache_aside::global(), &key, ttl, || find_user(id)).await
}

async fn update_user(id: u64) -> Result<(), DbError> {
    // ... write to the database, then drop every cached entry of this user. The id is
    // escaped so that it can never widen the pattern.
    let pattern = format!("user:{}*", cache_aside::escape_glob(&id.to_string()));
    // Fails open: a failed invalidation is logged, and the write still succeeded.
    let _ = cache_aside::invalidate_pattern(cache_aside::global(), &pattern).await;
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

    update_user(42).await.map_err(|_| "database error")?;
    let started = Instant::now();
    get_user(42).await.map_err(|_| "database error")?;
    println!("after update_user(42): reloaded in {:?}", started.elapsed());

    // The port's own methods report cache trouble to the caller, who decides.
    match cache_aside::global().increment("visits", 1).await {
        Ok(visits) => println!("visits counter: {visits}"),
        Err(error) => println!("visits counter unavailable: {error}"),
    }
    Ok(())
}
