//! An entry never outlives its key's TTL in Redis, however the TTL was set (by this cache's
//! own write, by a plain client's `SET ... PX`, by a plain client's `PEXPIRE` on a key the tier
//! already holds), even though `max_ttl` is far longer; nor does it outlive `max_ttl`.
//!
//! Every read is timed from its start: one that starts after the key expired in Redis must not
//! return the value. The tolerance covers Redis counting TTLs in whole milliseconds.

use std::cell::Cell;
use std::time::{Duration, Instant};

use cache_aside::RedisCache;
use cache_aside::prelude::*;

use crate::rig::{
    OP_TIMEOUT, Raw, RedisServer, STALENESS, TIER_ENTRIES, held, read, seen_within, stats, tiered,
};

const VALUE: &str = r#""short-lived""#;
/// The keys' TTL in Redis.
const TTL: Duration = Duration::from_millis(200);
/// How late a read may start after the expiry and still get the value.
const TOLERANCE: Duration = Duration::from_millis(5);

/// How the key got its TTL.
#[derive(Clone, Copy, Debug)]
enum Ttl {
    /// `set` through the reading cache, with a TTL.
    OwnWrite,
    /// `SET key value PX ttl` by a plain client.
    RawWrite,
    /// `PEXPIRE key ttl` by a plain client, on a key the tier holds without a TTL.
    RawExpire,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap()
}

/// Gives the key its TTL as `how` says; returns when Redis acknowledged it.
async fn write(cache: &RedisCache, raw: &Raw, key: &str, how: Ttl) -> Instant {
    match how {
        Ttl::OwnWrite => cache.set(key, VALUE, Some(TTL)).await.unwrap(),
        Ttl::RawWrite => {
            raw.query::<()>(
                redis::cmd("SET")
                    .arg(key)
                    .arg(VALUE)
                    .arg("PX")
                    .arg(millis(TTL)),
            );
        }
        Ttl::RawExpire => {
            raw.set(key, VALUE);
            held(cache, key, VALUE).await;
            let set: u64 = raw.query(redis::cmd("PEXPIRE").arg(key).arg(millis(TTL)));
            assert_eq!(set, 1);
        }
    }
    Instant::now()
}

async fn never_outlives_its_redis_ttl(how: Ttl) {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let cache = tiered(server.url()).build().unwrap();
    let key = &format!("expiry:{how:?}");
    let acknowledged = write(&cache, &raw, key, how).await;
    held(&cache, key, VALUE).await;
    let hits = stats(&cache).hits;

    let last_served = Cell::new(None);
    let gone = seen_within(
        acknowledged,
        TTL + STALENESS,
        &format!("{key} expiring ({how:?})"),
        || async {
            let started = acknowledged.elapsed();
            let value = read(&cache, key).await;
            if value.is_some() {
                last_served.set(Some(started));
            }
            value.is_none()
        },
    )
    .await;
    let tier = stats(&cache);
    println!(
        "expiry ({how:?}): TTL {TTL:?}; the value was last served by a read that started \
         {:?} after the write, the first read that found nothing started {gone:?} after; tier \
         {tier:?}",
        last_served.get()
    );
    assert!(
        tier.hits > hits,
        "the tier served the key before it expired: {tier:?}"
    );
    if let Some(last) = last_served.get() {
        assert!(
            last <= TTL + TOLERANCE,
            "{key} ({how:?}) was served by a read that started {last:?} after a write with a \
             TTL of {TTL:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_never_outlives_the_ttl_of_its_own_write() {
    never_outlives_its_redis_ttl(Ttl::OwnWrite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_never_outlives_a_ttl_written_by_another_client() {
    never_outlives_its_redis_ttl(Ttl::RawWrite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_never_outlives_a_ttl_set_later_by_another_client() {
    never_outlives_its_redis_ttl(Ttl::RawExpire).await;
}

/// The tier's own bound: an entry of a key without a TTL goes after `max_ttl`.
const MAX_TTL: Duration = Duration::from_millis(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_never_outlives_max_ttl() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let cache = RedisCache::builder(server.url())
        .op_timeout(OP_TIMEOUT)
        .local_tier(TIER_ENTRIES, MAX_TTL)
        .build()
        .unwrap();
    let key = "expiry:max_ttl";
    raw.set(key, VALUE);
    held(&cache, key, VALUE).await;
    // The entry was inserted before the hit that `held` saw.
    let inserted = Instant::now();
    let last_hit = Cell::new(Duration::ZERO);
    let missed = seen_within(
        inserted,
        MAX_TTL + STALENESS,
        "a read past max_ttl going to Redis",
        || async {
            let started = inserted.elapsed();
            let misses = stats(&cache).misses;
            assert_eq!(read(&cache, key).await.as_deref(), Some(VALUE));
            let missed = stats(&cache).misses > misses;
            if !missed {
                last_hit.set(started);
            }
            missed
        },
    )
    .await;
    println!(
        "expiry (max_ttl {MAX_TTL:?}): last hit by a read that started {:?} after the entry \
         was held, first miss {missed:?}; tier {:?}",
        last_hit.get(),
        stats(&cache)
    );
    assert!(
        last_hit.get() <= MAX_TTL + TOLERANCE,
        "a hit {:?} after the entry was held, with max_ttl {MAX_TTL:?}",
        last_hit.get()
    );
}
