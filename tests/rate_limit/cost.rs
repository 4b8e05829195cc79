//! What a check costs on Redis: one round trip, the memory per key (against a sorted-set
//! log, the usual exact alternative), and the time per check. The figures are printed; run
//! with `--nocapture` to see them.

use std::time::{Duration, Instant};

use cache_aside::{RateDecision, RateLimiter, RedisCache};

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

/// The figure `name` (`calls`, `usec_per_call`) of `command` in `INFO commandstats`.
fn command_stat(raw: &Raw, command: &str, name: &str) -> f64 {
    let info: String = raw.query(redis::cmd("INFO").arg("commandstats"));
    let prefix = format!("cmdstat_{command}:");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|figures| {
            figures
                .split(',')
                .find_map(|figure| figure.strip_prefix(name)?.strip_prefix('='))
        })
        .map_or(0.0, |figure| figure.parse().expect("a figure"))
}

/// How often `command` ran.
fn calls(raw: &Raw, command: &str) -> u64 {
    command_stat(raw, command, "calls") as u64
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
    // 5,000 takes the script's path for rings over 8 KB, read a slot at a time.
    for limit in [10_u64, 100, 1000, 5000] {
        let limiter = RateLimiter::new(cache.clone(), limit, long);
        let (ring, set) = (format!("ring:{limit}"), format!("set:{limit}"));
        for allowed in 1..=limit {
            assert_eq!(
                limiter.check(&ring).await,
                RateDecision::allow(limit - allowed)
            );
            sorted_set_check(&sorted_set, &mut connection, &set, limit, 600_000_000).await;
        }
        assert!(!limiter.check(&ring).await.allowed);
        assert_eq!(
            raw.query::<u64>(redis::cmd("ZCARD").arg(&set)),
            limit,
            "the sorted set holds every request too"
        );
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
    // requests keep leaving it), through the limiter and through the sorted-set script; and
    // the time in the server, from its own statistics.
    const CHECKS: u32 = 1000;
    for (what, limit, window) in [
        ("refused", 100, long),
        ("allowed", 100, Duration::from_millis(1)),
    ] {
        let limiter = RateLimiter::new(cache.clone(), limit, window);
        let window_us = u64::try_from(window.as_micros()).expect("short");
        let (key, set_key) = (format!("time:{what}"), format!("time-set:{what}"));
        for _ in 0..limit {
            limiter.check(&key).await;
            sorted_set_check(&sorted_set, &mut connection, &set_key, limit, window_us).await;
        }
        raw.query::<()>(redis::cmd("CONFIG").arg("RESETSTAT"));
        let started = Instant::now();
        for _ in 0..CHECKS {
            limiter.check(&key).await;
        }
        let ring = started.elapsed() / CHECKS;
        let ring_server = command_stat(&raw, "evalsha", "usec_per_call");
        raw.query::<()>(redis::cmd("CONFIG").arg("RESETSTAT"));
        let started = Instant::now();
        for _ in 0..CHECKS {
            sorted_set_check(&sorted_set, &mut connection, &set_key, limit, window_us).await;
        }
        let set = started.elapsed() / CHECKS;
        let set_server = command_stat(&raw, "evalsha", "usec_per_call");
        println!(
            "a check, {what} (limit {limit}, window {window:?}): {:.1} µs through the \
             limiter ({ring_server:.1} µs in the server), {:.1} µs for the sorted-set script \
             by hand ({set_server:.1} µs in the server)",
            ring.as_secs_f64() * 1e6,
            set.as_secs_f64() * 1e6
        );
    }
}

/// One check of the sorted-set contender, by `EVALSHA`.
async fn sorted_set_check(
    script: &redis::Script,
    connection: &mut redis::aio::MultiplexedConnection,
    key: &str,
    limit: u64,
    window_us: u64,
) {
    let _: (u8, u64, u64) = script
        .key(key)
        .arg(limit)
        .arg(window_us)
        .arg(window_us / 1000 + 1)
        .invoke_async(connection)
        .await
        .expect("the sorted-set script");
}

/// The time a check takes in process memory, refused and allowed (printed).
#[tokio::test]
async fn time_per_check_in_memory() {
    const CHECKS: u32 = 20_000;
    let cache = cache_aside::MemoryCache::new();
    for (what, window) in [
        ("refused", Duration::from_secs(600)),
        ("allowed", Duration::from_millis(1)),
    ] {
        let limiter = RateLimiter::new(cache.clone(), 100, window);
        let key = format!("time:{what}");
        for _ in 0..100 {
            limiter.check(&key).await;
        }
        let started = Instant::now();
        for _ in 0..CHECKS {
            limiter.check(&key).await;
        }
        println!(
            "a check in memory, {what} (limit 100, window {window:?}): {:.2} µs",
            (started.elapsed() / CHECKS).as_secs_f64() * 1e6
        );
    }
}
