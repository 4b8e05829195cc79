//! Error replies by what they mean: a refusal that passes (`OOM`, `BUSY`, ...) keeps an
//! invalidation for replay exactly like an unreachable server, and is logged once per
//! episode, not once per call.

use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{RedisCache, cached, invalidate};

use crate::breaker::Captured;
use crate::common::{CALL_BOUND, RECOVERY, Raw, RedisServer, connected, eventually, fast_failing};

#[cached(key = "report:{team}:{id}", tags = ["team:{team}"], ttl = 600, cache = cache)]
async fn report(cache: &RedisCache, team: u64, id: u64) -> String {
    format!("report {id} of team {team}, v1")
}

#[invalidate(tags = ["team:{team}"], cache = cache)]
async fn reorganise(cache: &RedisCache, team: u64) {}

#[invalidate(key = "plain:{id}", cache = cache)]
async fn forget(cache: &RedisCache, id: u64) {}

/// Writes to the server until it answers `OOM` even to small writes; returns the connection
/// that wrote, which must stay open (closing it frees its buffers, and with them the OOM).
fn fill_until_oom(server: &RedisServer) -> redis::Connection {
    let mut raw = server.raw();
    let mut i = 0;
    for size in [16 * 1024, 1024, 64] {
        let filler = vec![b'x'; size];
        loop {
            i += 1;
            assert!(i < 1_000_000, "the server never ran out of memory");
            let written: redis::RedisResult<()> = redis::cmd("SET")
                .arg(format!("filler:{i}"))
                .arg(&filler)
                .query(&mut raw);
            if let Err(error) = written {
                assert_eq!(error.code(), Some("OOM"), "{error}");
                break;
            }
        }
    }
    raw
}

/// With `maxmemory` reached and `noeviction`, the tag script is refused with `OOM`: the tag
/// invalidation is kept, the entries under the tag are kept from the cache meanwhile, and
/// once memory is available the replay deletes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidations_refused_for_lack_of_memory_are_replayed() {
    let server =
        RedisServer::start_with_args(&["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]);
    let raw = Raw::new(&server);
    let cache = fast_failing(server.url())
        .op_timeout(CALL_BOUND)
        .build()
        .unwrap();
    connected(&cache).await;
    assert_eq!(report(&cache, 7, 1).await, "report 1 of team 7, v1");
    assert_eq!(report(&cache, 7, 2).await, "report 2 of team 7, v1");
    cache.set("plain:1", "old", None).await.unwrap();
    assert!(raw.exists("report:7:1") && raw.exists("report:7:2"));

    let _filler = fill_until_oom(&server);
    reorganise(&cache, 7).await;
    forget(&cache, 1).await;
    let health = cache.health();
    assert!(
        health.pending_invalidations > 0,
        "the tag invalidation refused with OOM is kept: {health:?}"
    );
    assert_eq!(health.dropped_invalidations, 0, "{health:?}");
    assert!(raw.exists("report:7:1"), "still in Redis during the OOM");
    let read = cache.get("report:7:1").await;
    assert!(
        read.as_ref().is_err_and(|error| error.is_circuit_open()),
        "a key the waiting tag may cover is not read: {read:?}"
    );

    raw.query::<()>(redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg(0));
    let cache_ref = &cache;
    eventually(RECOVERY, "the tag invalidation replayed", || async move {
        cache_ref.health().pending_invalidations == 0
    })
    .await;
    assert!(!raw.exists("report:7:1"), "replayed: gone");
    assert!(!raw.exists("report:7:2"), "replayed: gone");
    assert!(!raw.exists("plain:1"), "the key invalidation was not lost");
    assert_eq!(cache.health().dropped_invalidations, 0);
}

/// A script that keeps the server busy: every other command gets `BUSY` meanwhile.
const BUSY_SCRIPT: &str = "local t = tonumber(redis.call('TIME')[1]) + 2 \
     while tonumber(redis.call('TIME')[1]) < t do end return 1";

/// While a long script runs, the server answers `BUSY` to everything: invalidations by key,
/// pattern and tag are kept and replayed once it ends, and the hundreds of calls made
/// meanwhile log a handful of lines, not one each.
#[tokio::test]
async fn invalidations_refused_while_the_server_is_busy_are_replayed_and_logged_once() {
    let captured = Captured::default();
    let _guard = captured.install();
    let server = RedisServer::start_with_args(&["--busy-reply-threshold", "10"]);
    let raw = Raw::new(&server);
    let cache = fast_failing(server.url())
        .op_timeout(CALL_BOUND)
        .build()
        .unwrap();
    connected(&cache).await;
    assert_eq!(report(&cache, 8, 1).await, "report 1 of team 8, v1");
    for key in ["plain:2", "page:1", "page:2"] {
        cache.set(key, "old", None).await.unwrap();
    }

    let mut busy_connection = server.raw();
    let script = std::thread::spawn(move || {
        redis::cmd("EVAL")
            .arg(BUSY_SCRIPT)
            .arg(0)
            .query::<i64>(&mut busy_connection)
    });
    // Until the server says BUSY to someone else.
    let mut probe = server.raw();
    let started = Instant::now();
    while redis::cmd("PING").query::<String>(&mut probe).is_ok() {
        assert!(started.elapsed() < RECOVERY, "the script started");
        std::thread::sleep(Duration::from_millis(5));
    }

    let deleted = cache.delete("plain:2").await;
    assert!(
        deleted.as_ref().is_err_and(|error| error.is_queued()),
        "{deleted:?}"
    );
    let by_pattern = cache.delete_pattern("page:*").await;
    assert!(
        by_pattern.as_ref().is_err_and(|error| error.is_queued()),
        "{by_pattern:?}"
    );
    reorganise(&cache, 8).await;
    for id in 0..200 {
        let _ = cache.get("other").await;
        let _ = cache.delete(&format!("more:{id}")).await;
        assert_eq!(
            report(&cache, 9, id).await,
            format!("report {id} of team 9, v1")
        );
    }
    assert!(
        cache.health().pending_invalidations >= 3,
        "{:?}",
        cache.health()
    );
    assert!(script.join().unwrap().is_ok(), "the script ran to its end");

    let cache_ref = &cache;
    eventually(RECOVERY, "every invalidation replayed", || async move {
        cache_ref.health().pending_invalidations == 0
    })
    .await;
    for key in ["plain:2", "page:1", "page:2", "report:8:1"] {
        assert!(!raw.exists(key), "{key} was invalidated during BUSY");
    }
    assert_eq!(cache.health().dropped_invalidations, 0);
    let lines = captured.lines("WARN").len() + captured.lines("INFO").len();
    assert!(
        lines <= 6,
        "600 calls during BUSY logged {lines} lines:\n{}",
        captured.all()
    );
}

/// A deletion the server refuses for good (`NOPERM`: an ACL forbids `UNLINK`) is given up:
/// not queued, counted in `dropped_invalidations`, logged once for many calls, and the
/// breaker stays closed (the server answered).
#[tokio::test]
async fn deletions_refused_for_good_are_counted_and_logged_once() {
    let captured = Captured::default();
    let _guard = captured.install();
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    raw.query::<()>(
        redis::cmd("ACL")
            .arg("SETUSER")
            .arg("cache")
            .arg("on")
            .arg(">secret")
            .arg("~*")
            .arg("+@all")
            .arg("-unlink"),
    );
    let url = format!("redis://cache:secret@127.0.0.1:{}", server.port());
    let cache = fast_failing(url).build().unwrap();
    connected(&cache).await;
    cache.set("kept", "v", None).await.unwrap();
    for _ in 0..100 {
        let deleted = cache.delete("kept").await;
        let error = deleted.expect_err("UNLINK is forbidden");
        assert!(!error.is_queued(), "{error}");
        assert!(!error.is_unavailable(), "{error}");
    }
    let health = cache.health();
    assert_eq!(health.dropped_invalidations, 100, "{health:?}");
    assert_eq!(health.pending_invalidations, 0, "{health:?}");
    assert_eq!(health.times_opened, 0, "{health:?}");
    assert_eq!(
        cache.get("kept").await.unwrap().as_deref(),
        Some("v"),
        "nothing else is held back"
    );
    let warnings = captured.lines("WARN");
    assert_eq!(warnings.len(), 1, "{}", captured.all());
}

#[cached(key = "fresh:{id}", ttl = 600, cache = cache)]
async fn fresh(cache: &RedisCache, id: u64) -> u64 {
    id
}

/// Under `OOM` every miss's lease (a `SET`) is refused while reads succeed, so the breaker
/// rightly stays closed: the calls all get their value, and the function logs its failure
/// once for the episode, not once per call (issue 10, defect 2).
#[tokio::test]
async fn misses_refused_for_lack_of_memory_are_logged_once_per_episode() {
    let captured = Captured::default();
    let _guard = captured.install();
    let server =
        RedisServer::start_with_args(&["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]);
    let cache = fast_failing(server.url())
        .op_timeout(CALL_BOUND)
        .build()
        .unwrap();
    connected(&cache).await;
    let _filler = fill_until_oom(&server);
    for id in 0..200 {
        assert_eq!(fresh(&cache, id).await, id);
    }
    let warnings = captured.lines("WARN");
    assert!(
        warnings.len() <= 2,
        "200 misses under OOM logged {} warnings:\n{}",
        warnings.len(),
        captured.all()
    );
}
