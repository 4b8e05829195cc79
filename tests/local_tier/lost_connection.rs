//! When the connection that carries the invalidations is lost, pushes may have been missed, so
//! the tier is cleared before anything is served from it again: after `CLIENT KILL` of the
//! library's connections, after a restart of Redis, and after a freeze long enough to open the
//! breaker, each followed at once by a write behind the library's back, the next read returns
//! the new value. While Redis is unreachable, the tier serves nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{BreakerState, DEFAULT_FAILURE_THRESHOLD, RedisCache, cached};

use crate::rig::{LIMIT, Raw, RedisServer, bounded, eventually, held, read, stats, tiered};

const OLD: &str = r#""old""#;
const NEW: &str = r#""new""#;
/// Rounds of kill-then-write: the race between the kill's news and the next read is the
/// library's, so it is run more than once.
const KILL_ROUNDS: u32 = 10;

/// Kills every normal client but the asking one (`CLIENT KILL` skips its caller).
fn kill_the_librarys_connections(raw: &Raw) {
    let killed: u64 = raw.query(redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal"));
    assert!(killed >= 1, "the cache's connection was open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_kill_then_a_write_leaves_no_stale_entry() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let reader = tiered(server.url()).build().unwrap();
    for round in 0..KILL_ROUNDS {
        let key = &format!("killed:{round}");
        raw.set(key, OLD);
        held(&reader, key, OLD).await;
        let clears = stats(&reader).clears;
        kill_the_librarys_connections(&raw);
        raw.set(key, NEW);
        assert_eq!(
            read(&reader, key).await.as_deref(),
            Some(NEW),
            "the first read after CLIENT KILL and a write (round {round}) served the first tier"
        );
        let tier = stats(&reader);
        assert!(
            tier.clears > clears,
            "a lost connection clears the tier (round {round}): {tier:?}"
        );
    }
    println!(
        "lost connection: {KILL_ROUNDS} kills; tier {:?}",
        stats(&reader)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_then_a_write_leaves_no_stale_entry() {
    let mut server = RedisServer::start();
    let reader = tiered(server.url()).build().unwrap();
    let (written, gone) = ("restarted:written", "restarted:gone");
    let raw = Raw::new(&server);
    raw.set(written, OLD);
    raw.set(gone, OLD);
    held(&reader, written, OLD).await;
    held(&reader, gone, OLD).await;
    let clears = stats(&reader).clears;

    // The dataset starts empty; the old connections are dead.
    tokio::task::block_in_place(|| server.restart());
    Raw::new(&server).set(written, NEW);
    assert_eq!(
        read(&reader, written).await.as_deref(),
        Some(NEW),
        "the first read after a restart and a write served the first tier"
    );
    assert_eq!(
        read(&reader, gone).await,
        None,
        "a key the restart emptied was served from the first tier"
    );
    let tier = stats(&reader);
    assert!(tier.clears > clears, "a restart clears the tier: {tier:?}");
    println!("lost connection: restart; tier {tier:?}");
}

/// A short deadline and cool-down, so that the breaker opens and closes quickly.
const OP_TIMEOUT: Duration = Duration::from_millis(250);
const COOL_DOWN: Duration = Duration::from_millis(200);
/// A bound on one call to a frozen server: its deadline and slack for a loaded machine.
const CALL_BOUND: Duration = Duration::from_secs(2);

#[cached(key = "frozen:held", ttl = 600, cache = cache)]
async fn frozen_held(cache: &RedisCache, loads: &AtomicU64) -> String {
    loads.fetch_add(1, Ordering::SeqCst);
    "from the loader".to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_unreachable_the_tier_serves_nothing() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let reader = tiered(server.url())
        .op_timeout(OP_TIMEOUT)
        .cool_down(COOL_DOWN)
        .build()
        .unwrap();
    let key = "frozen:held";
    let loads = AtomicU64::new(0);
    raw.set(key, OLD);
    held(&reader, key, OLD).await;
    assert_eq!(
        frozen_held(&reader, &loads).await,
        "old",
        "a first-tier hit"
    );
    assert_eq!(loads.load(Ordering::SeqCst), 0);
    let clears = stats(&reader).clears;

    server.freeze();
    // Reads of keys the tier does not hold go to Redis and time out, until the breaker opens.
    for n in 0..DEFAULT_FAILURE_THRESHOLD {
        let key = format!("frozen:absent:{n}");
        let outcome = bounded(CALL_BOUND, "a read from a frozen server", reader.get(&key)).await;
        assert!(outcome.is_err(), "a frozen server answered {outcome:?}");
    }
    let health = reader.health();
    assert_ne!(health.state, BreakerState::Closed, "{health:?}");

    let hits = stats(&reader).hits;
    let outcome = bounded(CALL_BOUND, "a read while open", reader.get(key)).await;
    assert!(
        outcome.is_err(),
        "with Redis unreachable the first tier served {outcome:?}"
    );
    assert_eq!(
        bounded(
            CALL_BOUND,
            "a call while open",
            frozen_held(&reader, &loads)
        )
        .await,
        "from the loader",
        "with Redis unreachable a #[cached] call goes to its body"
    );
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    let tier = stats(&reader);
    assert_eq!(
        tier.hits, hits,
        "nothing was served from the tier: {tier:?}"
    );

    server.thaw();
    raw.set(key, NEW);
    let reads = std::cell::Cell::new(0_u32);
    eventually(LIMIT, "a read that succeeds after the thaw", || async {
        reads.set(reads.get() + 1);
        match reader.get(key).await {
            Ok(value) => {
                assert_eq!(
                    value.as_deref(),
                    Some(NEW),
                    "the first read that succeeded after the thaw and a write"
                );
                true
            }
            Err(_) => false,
        }
    })
    .await;
    let after = stats(&reader);
    assert!(
        after.clears > clears,
        "the tier was cleared when its connection was dropped: {after:?}"
    );
    println!(
        "lost connection: freeze; {} reads until one succeeded after the thaw; tier {after:?}",
        reads.get()
    );
}
