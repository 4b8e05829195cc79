//! Stored values the return type cannot use: corrupt bytes, another type (after a deploy),
//! another Redis type (`WRONGTYPE`). Each is a miss: the body runs, its value is returned and
//! overwrites the bad one, and the next call is a hit. None of them counts against the
//! breaker, even with a threshold of one.

use std::sync::atomic::{AtomicU64, Ordering};

use cache_aside::prelude::*;
use cache_aside::{BreakerState, MemoryCache, SharedCache, cached};
use serde::{Deserialize, Serialize};

use crate::common::{Store, counters};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    id: u64,
    name: String,
}

fn profile_of(id: u64) -> Profile {
    Profile {
        id,
        name: format!("user {id}"),
    }
}

#[cached(key = "profile:{id}", ttl = 600, cache = cache)]
async fn profile(cache: &SharedCache, bodies: &AtomicU64, id: u64) -> Profile {
    bodies.fetch_add(1, Ordering::SeqCst);
    profile_of(id)
}

/// Text that is not a `Profile`: broken JSON, and JSON of other types.
const NOT_A_PROFILE: &[&str] = &[
    r#"{"id":2,"name""#,
    "[1,2,3]",
    r#"{"id":"four","name":4}"#,
    r#""a string""#,
    "null",
    "",
];

/// Reads each of `ids`, which hold bad values, and checks the miss, the overwrite and the hit.
async fn misses_and_overwrites(store: &Store, ids: impl IntoIterator<Item = u64>) {
    let bodies = AtomicU64::new(0);
    let errors = counters("bad_values::profile").errors;
    let mut count = 0;
    for id in ids {
        let key = format!("profile:{id}");
        let loads = bodies.load(Ordering::SeqCst);
        assert_eq!(profile(&store.cache, &bodies, id).await, profile_of(id));
        assert_eq!(bodies.load(Ordering::SeqCst), loads + 1, "{key}: a miss");
        if let Some(raw) = store.raw() {
            let kind: String = raw.query(redis::cmd("TYPE").arg(&key));
            assert_eq!(kind, "string", "{key}: SET replaced the bad value");
        }
        assert_eq!(
            store.stored(&key).await,
            Some(serde_json::to_string(&profile_of(id)).unwrap()),
            "{key}: overwritten"
        );
        let ttl = store.cache.ttl(&key).await.unwrap().expect("a TTL");
        assert!(ttl.as_secs() > 590, "{key}: the TTL of the write, {ttl:?}");
        assert_eq!(profile(&store.cache, &bodies, id).await, profile_of(id));
        assert_eq!(bodies.load(Ordering::SeqCst), loads + 1, "{key}: now a hit");
        count += 1;
    }
    assert!(
        counters("bad_values::profile").errors >= errors + count,
        "each bad value was counted"
    );
    let health = store.cache.health();
    assert_eq!(health.state, BreakerState::Closed, "{health:?}");
    assert_eq!(health.consecutive_failures, 0, "{health:?}");
    assert_eq!(health.times_opened, 0, "{health:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_values_of_the_wrong_kind_are_misses_and_overwritten() {
    let store = Store::redis(|builder| builder.failure_threshold(1));
    let raw = store.raw().unwrap();
    for (id, text) in (1..).zip(NOT_A_PROFILE) {
        raw.set(&format!("profile:{id}"), *text);
    }
    // Not UTF-8.
    raw.set("profile:100", &[0xff_u8, 0xfe, 0x00, 0x80][..]);
    // Other Redis types: GET answers WRONGTYPE.
    raw.query::<i64>(redis::cmd("RPUSH").arg("profile:101").arg("a").arg("b"));
    raw.query::<i64>(redis::cmd("HSET").arg("profile:102").arg("id").arg("1"));
    raw.query::<i64>(redis::cmd("SADD").arg("profile:103").arg("x"));
    let ids = (1..=NOT_A_PROFILE.len() as u64).chain(100..=103);
    misses_and_overwrites(&store, ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_values_of_the_wrong_kind_are_misses_and_overwritten() {
    let store = Store::memory(MemoryCache::builder());
    for (id, text) in (1..).zip(NOT_A_PROFILE) {
        store.seed(&format!("profile:{id}"), text).await;
    }
    misses_and_overwrites(&store, 1..=NOT_A_PROFILE.len() as u64).await;
}
