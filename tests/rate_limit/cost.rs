//! What a check costs on Redis: one round trip, the memory per key (against a sorted-set
//! log, the usual exact alternative), and the time per check. The figures are printed; run
//! with `--nocapture` to see them.

use std::time::{Duration, Instant};

use cache_aside::{RateLimiter, RedisCache};

use crate::support::RedisServer;
use crate::support::backend::Raw;

/// The usual exact sliding window, for comparison: a sorted set of the times allowed, with
/// `ZREMRANGEBYSCORE` + `ZCARD` + `ZADD` in one script (members made unique by the count).
const SORTED_SET: &str = r"
    local limit = tonumber(ARGV[1])
    local clock = redis.call('TIME')
    local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
    local count = redis.call('ZCARD', KEYS[1])
    if count >= limit then
        local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        return {0, 0, tonumber(oldest[2]) + tonumber(ARGV[2]) - now}
    end
    redis.call('ZADD', KEYS[1], now, now .. ':' .. count)
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    return {1, limit - count - 1, 0}
";

fn cache_for(server: &RedisServer) -> RedisCache {
    RedisCache::builder(server.url())
        .op_timeout(Duration::from_secs(5))
        .build()
        .expect("a valid URL")
}

/// The `calls` of `command` in `INFO commandstats`.
fn calls(raw: &Raw, command: &str) -> u64 {
    let info: String = raw.query(redis::cmd("INFO").arg("commandstats"));
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |count| count.parse().expect("a count"))
}

/// Every check is one command, `EVALSHA`; only the first on a server that does not know the
/// script yet is followed by an `EVAL` of it.
#[tokio::test]
async fn a_check_is_one_round_trip() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let limiter = RateLimiter::new(cache_for(&server), 5, Duration::from_secs(60));
    assert!(limiter.check("rate:trips").await.allowed);
    assert_eq!(
        (calls(&raw, "evalsha"), calls(&raw, "eval")),
        (1, 1),
        "the first: EVALSHA, NOSCRIPT, then EVAL"
    );
    for _ in 0..9 {
        limiter.check("rate:trips").await;
    }
    assert_eq!(
        (calls(&raw, "evalsha"), calls(&raw, "eval")),
        (10, 1),
        "then one EVALSHA each"
    );
}

/// The memory a key takes under full demand (`MEMORY USAGE`), and the time a check takes,
/// against a sorted-set log on the same server.
#[tokio::test]
async fn memory_per_key_and_time_per_check() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let cache = cache_for(&server);
    let sorted_set = redis::Script::new(SORTED_SET);
    let client = redis::Client::open(server.url()).expect("a valid URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("a connection");
    let long = Duration::from_secs(600);
    for limit in [10_u64, 100, 1000] {
        let limiter = RateLimiter::new(cache.clone(), limit, long);
        let (ring, set) = (format!("ring:{limit}"), format!("set:{limit}"));
        for _ in 0..limit {
            assert!(limiter.check(&ring).await.allowed);
            let (allowed, _, _): (u8, u64, u64) = sorted_set
                .key(&set)
                .arg(limit)
                .arg(600_000_000)
                .arg(600_001)
                .invoke_async(&mut connection)
                .await
                .expect("the sorted-set script");
            assert_eq!(allowed, 1);
        }
        let usage = |key: &str| {
            raw.query::<u64>(
                redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(key)
                    .arg("SAMPLES")
                    .arg(0),
            )
        };
        let (ring_bytes, set_bytes) = (usage(&ring), usage(&set));
        println!(
            "limit {limit}, window full: the ring takes {ring_bytes} bytes, a sorted set \
             {set_bytes} ({:.1} times as much)",
            set_bytes as f64 / ring_bytes as f64
        );
        assert!(
            ring_bytes <= 8 * limit * 5 / 4 + 256,
            "8 bytes a request, and a little for the key: {ring_bytes} bytes at {limit}"
        );
        assert!(ring_bytes < set_bytes);
    }
    let light = RateLimiter::new(cache.clone(), 1000, long);
    for _ in 0..37 {
        light.check("ring:light").await;
    }
    let light_bytes: u64 = raw.query(
        redis::cmd("MEMORY")
            .arg("USAGE")
            .arg("ring:light")
            .arg("SAMPLES")
            .arg(0),
    );
    println!("limit 1000, 37 requests in the window: the ring takes {light_bytes} bytes");
    assert!(
        light_bytes < 1000,
        "memory follows the demand, not the limit"
    );

    // Time: sequential checks, refused (a full window) and allowed (a 1 ms window, so that
    // requests keep leaving it), through the limiter and through the sorted-set script.
    const CHECKS: u32 = 1000;
    for (what, limit, window) in [
        ("refused", 100, long),
        ("allowed", 100, Duration::from_millis(1)),
    ] {
        let limiter = RateLimiter::new(cache.clone(), limit, window);
        let window_us = u64::try_from(window.as_micros()).expect("short");
        let key = format!("time:{what}");
        for _ in 0..limit {
            limiter.check(&key).await;
        }
        let started = Instant::now();
        for _ in 0..CHECKS {
            limiter.check(&key).await;
        }
        let ring = started.elapsed() / CHECKS;
        let set_key = format!("time-set:{what}");
        let started = Instant::now();
        for _ in 0..CHECKS + limit as u32 {
            let _: (u8, u64, u64) = sorted_set
                .key(&set_key)
                .arg(limit)
                .arg(window_us)
                .arg(window_us / 1000 + 1)
                .invoke_async(&mut connection)
                .await
                .expect("the sorted-set script");
        }
        let set = started.elapsed() / (CHECKS + limit as u32);
        println!(
            "a check, {what} (limit {limit}, window {window:?}): {:.1} µs through the \
             limiter, {:.1} µs for the sorted-set script by hand",
            ring.as_secs_f64() * 1e6,
            set.as_secs_f64() * 1e6
        );
    }
    let info: String = raw.query(redis::cmd("INFO").arg("commandstats"));
    for line in info
        .lines()
        .filter(|line| line.starts_with("cmdstat_evalsha"))
    {
        println!("server side, both scripts: {line}");
    }
}
