//! What invalidating a tag costs next to the equivalent pattern, with a million unrelated
//! keys in Redis, and what the alternative design (tag versions folded into keys) would
//! cost on every hit.
//!
//!     cargo bench --bench tags
//!
//! Spawns its own `redis-server` (never 6379), fills it with `DEBUG POPULATE`, and prints
//! medians of a few repetitions. The numbers are wall-clock times of whole calls through
//! `RedisCache`, over loopback.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{Lease, LeaseToken, RedisCache};

/// Unrelated keys in the database.
const UNRELATED: u64 = 1_000_000;
/// Entries under the tag (and matching the pattern).
const TAGGED: u32 = 100;
const REPEATS: usize = 7;
/// Hits per measurement of the hit path.
const HITS: u32 = 10_000;
const TTL: Option<Duration> = Some(Duration::from_secs(600));

fn main() {
    // `cargo test --benches` runs each bench once with `--bench`-less arguments; the fill
    // alone takes seconds, so only `cargo bench` runs it.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let server = support::RedisServer::start_with_args(&["--enable-debug-command", "local"]);
    let cache = RedisCache::builder(server.url())
        .op_timeout(Duration::from_secs(60))
        .build()
        .expect("a valid URL");
    let mut raw = server.raw();
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(UNRELATED)
        .arg("unrelated")
        .arg(64)
        .query::<()>(&mut raw)
        .expect("DEBUG POPULATE");
    let size: u64 = redis::cmd("DBSIZE").query(&mut raw).expect("DBSIZE");
    println!("{size} keys in the database; {TAGGED} of them under the tag and the pattern");

    runtime.block_on(async {
        let mut by_tag = Vec::new();
        let mut by_pattern = Vec::new();
        for _ in 0..REPEATS {
            fill(&cache).await;
            let started = Instant::now();
            let deleted = cache.invalidate_tags(&["user:1"]).await.expect("by tag");
            by_tag.push(started.elapsed());
            assert_eq!(deleted, u64::from(TAGGED));

            fill(&cache).await;
            let started = Instant::now();
            let deleted = cache
                .delete_pattern("user:1:orders:*")
                .await
                .expect("by pattern");
            by_pattern.push(started.elapsed());
            assert_eq!(deleted, u64::from(TAGGED));
        }
        println!(
            "invalidate_tags([\"user:1\"])           median {:>12?}  (all: {by_tag:?})",
            median(&mut by_tag)
        );
        println!(
            "delete_pattern(\"user:1:orders:*\")     median {:>12?}  (all: {by_pattern:?})",
            median(&mut by_pattern)
        );

        // Tag versions instead of sets: a hit must read the tag's version too, in a second
        // round trip or folded into one MGET (which Redis Cluster refuses across slots).
        fill(&cache).await;
        cache
            .set("version:user:1", "1", None)
            .await
            .expect("a version");
        let mut get = Vec::new();
        let mut mget = Vec::new();
        let mut two_gets = Vec::new();
        for _ in 0..REPEATS {
            get.push(timed(|| async { drop(cache.get("user:1:orders:1").await) }).await);
            mget.push(
                timed(|| async {
                    drop(cache.get_many(&["version:user:1", "user:1:orders:1"]).await);
                })
                .await,
            );
            two_gets.push(
                timed(|| async {
                    drop(cache.get("version:user:1").await);
                    drop(cache.get("user:1:orders:1").await);
                })
                .await,
            );
        }
        println!(
            "a hit, tag sets (one GET)             median {:>12?}",
            median(&mut get)
        );
        println!(
            "a hit, versions in one MGET           median {:>12?}",
            median(&mut mget)
        );
        println!(
            "a hit, versions in two GETs           median {:>12?}",
            median(&mut two_gets)
        );

        let usage: Option<u64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(b"\xFFcache-aside:tag:user:1".as_slice())
            .query(&mut raw)
            .expect("MEMORY USAGE");
        println!("the tag's set of {TAGGED} members uses {usage:?} bytes");
    });
}

/// Caches `TAGGED` order pages of user 1 under the tag `user:1`, as `#[cached]` does.
async fn fill(cache: &RedisCache) {
    for page in 0..TAGGED {
        let key = format!("user:1:orders:{page}");
        let leases = cache.leases().expect("RedisCache has leases");
        let token = LeaseToken::new();
        let lease = leases
            .try_lease(&key, &token, Duration::from_secs(10), TTL, &["user:1"])
            .await
            .expect("a lease");
        assert_eq!(lease, Lease::Granted, "{key} is free");
        let stored = leases
            .set_leased(&key, &token, "[{\"id\":1}]", TTL)
            .await
            .expect("a write");
        assert!(stored);
    }
}

/// The mean time of one `call`, over `HITS` calls.
async fn timed<F, Fut>(call: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    for _ in 0..HITS {
        call().await;
    }
    started.elapsed() / HITS
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}
