//! What only the Redis adapter has: the wire format, the connection, deadlines and faults.

mod support;

use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{ErrorCode, RedisCache, get_or_load, invalidate_key};
use redis::Commands;
use support::RedisServer;

/// Generous slack for a loaded 2-core machine: these bounds prove "did not hang", no more.
const SLACK: Duration = Duration::from_secs(2);

fn cache_for(server: &RedisServer, op_timeout: Duration) -> RedisCache {
    RedisCache::builder(server.url())
        .op_timeout(op_timeout)
        .build()
        .unwrap()
}

async fn eventually_answers(cache: &RedisCache) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while cache.ping().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the cache did not reconnect within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Makes `count` gets that must fail with one of `expected`, each within the deadline, and
/// returns the slowest.
async fn failing_gets(cache: &RedisCache, count: usize, expected: &[ErrorCode]) -> Duration {
    let mut slowest = Duration::ZERO;
    for _ in 0..count {
        let started = Instant::now();
        let error = cache.get("k").await.unwrap_err();
        let took = started.elapsed();
        slowest = slowest.max(took);
        // After `failure_threshold` failures the breaker opens and refuses at once.
        assert!(
            expected.contains(&error.code()) || error.is_circuit_open(),
            "{error}"
        );
        assert_eq!(error.key(), Some("k"));
        assert!(
            took < cache.op_timeout() + SLACK,
            "a failing get took {took:?}"
        );
    }
    slowest
}

#[tokio::test]
async fn keys_and_ttls_land_in_redis_as_written() {
    let server = RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .prefix("app:")
        .build()
        .unwrap();
    cache
        .set_json(
            "user:1",
            &serde_json::json!({"name": "Ada"}),
            Some(Duration::from_secs(60)),
        )
        .await
        .unwrap();

    let mut raw = server.raw();
    let stored: String = raw.get("app:user:1").unwrap();
    assert_eq!(stored, r#"{"name":"Ada"}"#);
    let pttl: i64 = raw.pttl("app:user:1").unwrap();
    assert!((55_000..=60_000).contains(&pttl), "PTTL {pttl}");
    let plain: Option<String> = raw.get("user:1").unwrap();
    assert_eq!(plain, None);
}

#[test]
fn construction_needs_no_runtime_and_no_server() {
    // Nothing listens on port 1, and there is no Tokio runtime here: construction must
    // neither connect nor fail.
    let started = Instant::now();
    let cache = RedisCache::new("redis://127.0.0.1:1/0").unwrap();
    assert!(started.elapsed() < SLACK);
    assert!(format!("{cache:?}").contains("127.0.0.1:1"));
}

#[test]
fn invalid_urls_are_config_errors_that_hide_the_password() {
    for url in [
        "http://127.0.0.1",
        "not a url",
        "redis://user:hunter2@[::1",
        "",
    ] {
        let error = RedisCache::new(url).unwrap_err();
        assert_eq!(error.code(), ErrorCode::Config, "{url:?}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
    let cache = RedisCache::new("redis://user:hunter2@127.0.0.1:1").unwrap();
    assert!(!format!("{cache:?}").contains("hunter2"));
}

#[cfg(feature = "tls")]
#[test]
fn rediss_urls_are_accepted() {
    RedisCache::new("rediss://user:pw@127.0.0.1:1/0").unwrap();
}

#[tokio::test]
async fn credentials_in_the_url_are_used() {
    let server = RedisServer::start_with_args(&[
        "--requirepass",
        "s3cret",
        "--user",
        "alice",
        "on",
        ">wonder land",
        "~*",
        "+@all",
    ]);
    let port = server.port();
    let with_password = RedisCache::new(&format!("redis://:s3cret@127.0.0.1:{port}")).unwrap();
    with_password.set("k", "v", None).await.unwrap();
    let alice =
        RedisCache::new(&format!("redis://alice:wonder%20land@127.0.0.1:{port}/0")).unwrap();
    assert_eq!(alice.get("k").await.unwrap().as_deref(), Some("v"));
    // A server that refuses us is as unusable as one that is down.
    let anonymous = RedisCache::new(&server.url()).unwrap();
    let error = anonymous.get("k").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Connection, "{error}");
    let wrong = RedisCache::new(&format!("redis://alice:wrong@127.0.0.1:{port}")).unwrap();
    let error = wrong.get("k").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Connection, "{error}");
}

#[tokio::test]
async fn a_stopped_server_fails_fast_within_op_timeout() {
    let mut server = RedisServer::start();
    let op_timeout = Duration::from_millis(300);
    let cache = cache_for(&server, op_timeout);
    cache.set("k", "v", None).await.unwrap();
    server.stop();

    let slowest = failing_gets(&cache, 20, &[ErrorCode::Connection, ErrorCode::Timeout]).await;
    eprintln!("slowest of 20 gets on a stopped server: {slowest:?} (op_timeout {op_timeout:?})");
}

#[tokio::test]
async fn a_server_down_from_the_start_fails_fast_then_is_used_once_up() {
    let mut server = RedisServer::start();
    server.stop();
    let cache = cache_for(&server, Duration::from_millis(300));
    let started = Instant::now();
    assert!(cache.get("k").await.is_err());
    assert!(started.elapsed() < Duration::from_millis(300) + SLACK);

    server.restart();
    eventually_answers(&cache).await;
    cache.set("k", "v", None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("v"));
}

#[tokio::test]
async fn reconnects_by_itself_after_a_restart() {
    let mut server = RedisServer::start();
    let cache = cache_for(&server, Duration::from_millis(300));
    cache.set("k", "v", None).await.unwrap();
    server.restart();
    // No waiting: the broken connection is replaced within the first call.
    // A restarted server without persistence is empty.
    assert_eq!(cache.get("k").await.unwrap(), None);
    cache.set("k", "w", None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("w"));
}

#[tokio::test]
async fn a_frozen_server_costs_no_more_than_op_timeout() {
    let server = RedisServer::start();
    let op_timeout = Duration::from_millis(200);
    let cache = cache_for(&server, op_timeout);
    cache.set("k", "v", None).await.unwrap();
    server.freeze();
    let slowest = failing_gets(&cache, 5, &[ErrorCode::Timeout]).await;
    eprintln!("slowest of 5 gets on a frozen server: {slowest:?} (op_timeout {op_timeout:?})");
    server.thaw();
    eventually_answers(&cache).await;
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("v"));
}

#[tokio::test]
async fn concurrent_callers_share_one_connection() {
    let server = RedisServer::start();
    let cache = cache_for(&server, Duration::from_secs(5));
    let views = [
        cache.clone(),
        cache.with_prefix("a:"),
        cache.with_prefix("b:"),
    ];
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let view = views[i % views.len()].clone();
            tokio::spawn(async move {
                let key = format!("k{i}");
                view.set(&key, "v", None).await.unwrap();
                view.get(&key).await.unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().as_deref(), Some("v"));
    }
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut server.raw())
        .unwrap();
    // Ours, plus the raw connection asking.
    assert_eq!(clients.lines().count(), 2, "{clients}");
}

/// Calls per command since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
fn command_calls(server: &RedisServer, command: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut server.raw())
        .unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

#[tokio::test]
async fn batches_and_patterns_use_the_designed_commands() {
    let server = RedisServer::start();
    let cache = cache_for(&server, Duration::from_secs(5));
    let reset = || {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut server.raw())
            .unwrap();
    };

    reset();
    cache
        .set_many(&[("a", "1"), ("b", "2"), ("c", "3")], None)
        .await
        .unwrap();
    assert_eq!(command_calls(&server, "mset"), 1);
    assert_eq!(command_calls(&server, "set"), 0);

    reset();
    cache
        .set_many(&[("a", "1"), ("b", "2")], Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(command_calls(&server, "set"), 2);

    reset();
    cache.get_many(&["a", "b", "c", "d"]).await.unwrap();
    assert_eq!(command_calls(&server, "mget"), 1);
    assert_eq!(command_calls(&server, "get"), 0);

    reset();
    assert_eq!(cache.delete_pattern("*").await.unwrap(), 3);
    assert!(command_calls(&server, "scan") >= 1);
    assert!(command_calls(&server, "unlink") >= 1);
    assert_eq!(command_calls(&server, "keys"), 0);
    assert_eq!(command_calls(&server, "del"), 0);
}

#[tokio::test]
async fn wrong_types_and_foreign_bytes_are_errors_then_misses_that_get_overwritten() {
    let server = RedisServer::start();
    let cache = cache_for(&server, Duration::from_secs(5));
    let mut raw = server.raw();
    let _: () = raw.rpush("list", "x").unwrap();
    let _: () = raw.set("bytes", &[0xff_u8, 0xfe, 0x00][..]).unwrap();

    let error = cache.get("list").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Get, "{error}");
    let error = cache.get("bytes").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Get, "{error}");
    assert!(error.to_string().contains("UTF-8"), "{error}");

    for key in ["list", "bytes"] {
        let value: Result<u32, ()> = get_or_load(&cache, key, None, || async { Ok(42) }).await;
        assert_eq!(value, Ok(42));
        assert_eq!(cache.get_json::<u32>(key).await.unwrap(), Some(42), "{key}");
    }
}

#[tokio::test]
async fn helpers_fail_open_when_nothing_listens() {
    let mut server = RedisServer::start();
    server.stop();
    let cache = cache_for(&server, Duration::from_millis(300));
    for i in 0..5_u32 {
        let started = Instant::now();
        let value: Result<u32, ()> = get_or_load(&cache, "k", None, || async move { Ok(i) }).await;
        assert_eq!(value, Ok(i), "the loader's value, uncached");
        assert!(started.elapsed() < 2 * Duration::from_millis(300) + SLACK);
    }
    let error = invalidate_key(&cache, "k").await.unwrap_err();
    assert!(error.is_circuit_open(), "five failures opened it: {error}");
    assert!(error.is_queued(), "kept for replay: {error}");
    assert_eq!(cache.health().pending_invalidations, 1);
}

#[test]
fn a_cache_outlives_the_runtime_that_first_used_it() {
    // A process-wide cache (`global()`, a `static`) is shared by every runtime of a process,
    // such as one per `#[tokio::test]`: the connection must not die with the first one, and
    // the first call in the next runtime must not fail either.
    let server = RedisServer::start();
    let cache = cache_for(&server, Duration::from_secs(2));
    for round in 0..3 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            cache.set("k", &round.to_string(), None).await.unwrap();
            assert_eq!(cache.get("k").await.unwrap(), Some(round.to_string()));
        });
    }
}
