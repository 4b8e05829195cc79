//! Size limits: a value over `max_value_size` is returned but not stored (and counted), a
//! key over `max_key_size` is a clear error through the port and a plain body run through
//! the attributes. Neither panics, opens the breaker or queues anything.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use cache_aside::prelude::*;
use cache_aside::{
    BreakerState, DEFAULT_MAX_KEY_SIZE, DEFAULT_MAX_VALUE_SIZE, ErrorCode, SharedCache, cache_put,
    cached, invalidate,
};

use crate::common::counters;
use crate::support::backend::Backend;

/// The value limit of these tests. A string of `n` characters is `n + 2` bytes of JSON.
pub const MAX_VALUE: usize = 256;
/// The key limit of these tests, prefix included.
pub const MAX_KEY: usize = 64;

#[cached(key = "sized:{len}", cache = cache)]
async fn sized(cache: &SharedCache, bodies: &AtomicU64, len: usize) -> String {
    bodies.fetch_add(1, Ordering::SeqCst);
    "x".repeat(len)
}

pub async fn values_over_the_limit_are_returned_not_stored(store: Backend) {
    let cache = &store.cache;
    let bodies = AtomicU64::new(0);
    // At the limit: stored, then a hit.
    let at_limit = MAX_VALUE - 2;
    assert_eq!(sized(cache, &bodies, at_limit).await.len(), at_limit);
    assert_eq!(sized(cache, &bodies, at_limit).await.len(), at_limit);
    assert_eq!(bodies.load(Ordering::SeqCst), 1);
    assert!(store.stored(&format!("sized:{at_limit}")).await.is_some());

    // One byte over, and far over: returned every time, never stored, counted.
    for len in [MAX_VALUE - 1, 100_000] {
        let before = counters("sizes::sized");
        let loads = bodies.load(Ordering::SeqCst);
        for _ in 0..2 {
            assert_eq!(sized(cache, &bodies, len).await, "x".repeat(len));
        }
        assert_eq!(bodies.load(Ordering::SeqCst), loads + 2, "{len}: no hit");
        assert_eq!(store.stored(&format!("sized:{len}")).await, None, "{len}");
        let after = counters("sizes::sized");
        assert!(
            after.oversized >= before.oversized + 2,
            "{len}: {before:?} -> {after:?}"
        );
    }

    // Through the port.
    let error = cache
        .set("direct", &"v".repeat(MAX_VALUE + 1), None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::ValueTooLarge, "{error}");
    assert_eq!(store.stored("direct").await, None);
    cache
        .set("direct", &"v".repeat(MAX_VALUE), None)
        .await
        .unwrap();
    let error = cache
        .set_json("direct", &"v".repeat(MAX_VALUE), None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::ValueTooLarge, "{error}");
    assert_eq!(
        store.stored("direct").await,
        Some("v".repeat(MAX_VALUE)),
        "a refused write leaves the key as it was"
    );
    let health = cache.health();
    assert_eq!(health.state, BreakerState::Closed, "{health:?}");
    assert_eq!(health.consecutive_failures, 0, "{health:?}");
}

/// The system of record for `document` and `save_document`.
static DOCUMENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn stored_document(index: usize) -> String {
    DOCUMENTS.lock().unwrap()[index].clone()
}

#[cached(key = "document:{index}", cache = cache)]
async fn document(cache: &SharedCache, index: usize) -> String {
    stored_document(index)
}

#[cache_put(key = "document:{index}", cache = cache)]
async fn save_document(cache: &SharedCache, index: usize, text: String) -> String {
    DOCUMENTS.lock().unwrap()[index] = text.clone();
    text
}

/// A `#[cache_put]` whose new value is over the limit cannot store it; it must not leave the
/// previous value to be served either, since that value is now out of date.
pub async fn an_oversized_put_leaves_no_stale_value(store: Backend) {
    let index = {
        let mut documents = DOCUMENTS.lock().unwrap();
        documents.push("short".to_owned());
        documents.len() - 1
    };
    assert_eq!(document(&store.cache, index).await, "short");
    assert!(store.stored(&format!("document:{index}")).await.is_some());
    let long = "l".repeat(MAX_VALUE * 2);
    assert_eq!(save_document(&store.cache, index, long.clone()).await, long);
    let read = document(&store.cache, index).await;
    assert!(
        read == long,
        "a read after the put returned {read:?}, not the {} bytes that were put",
        long.len()
    );
}

#[cached(key = "{name}", cache = cache)]
async fn keyed(cache: &SharedCache, bodies: &AtomicU64, name: &str) -> u64 {
    bodies.fetch_add(1, Ordering::SeqCst) + 1
}

#[invalidate(key = "{name}", pattern = "{name}*", cache = cache)]
async fn forget_keyed(cache: &SharedCache, name: &str) -> u64 {
    7
}

/// With a prefix of 4 bytes and a limit of 64, a key of 60 bytes is fine and one of 61 is
/// a `KeyTooLarge` error from every operation, on both adapters; a
/// `#[cached]` call runs the body every time and
/// `#[invalidate]` returns normally, and nothing is queued or opens the breaker.
pub async fn keys_over_the_limit_are_refused_clearly(store: Backend) {
    let cache = &store.cache;
    let fits = "k".repeat(MAX_KEY - 4);
    let over = "k".repeat(MAX_KEY - 3);
    cache.set(&fits, "1", None).await.unwrap();
    assert_eq!(cache.get(&fits).await.unwrap().as_deref(), Some("1"));

    let errors = [
        cache.get(&over).await.unwrap_err(),
        cache.set(&over, "1", None).await.unwrap_err(),
        cache.increment(&over, 1).await.unwrap_err(),
        cache.delete(&over).await.unwrap_err(),
        cache.exists(&over).await.unwrap_err(),
    ];
    for error in &errors {
        assert_eq!(error.code(), ErrorCode::KeyTooLarge, "{error}");
        assert!(!error.is_queued(), "{error}");
        let message = error.to_string();
        assert!(
            message.contains("max_key_size"),
            "a clear message: {message}"
        );
    }

    let bodies = AtomicU64::new(0);
    let before = counters("sizes::keyed");
    assert_eq!(keyed(cache, &bodies, &over).await, 1);
    assert_eq!(keyed(cache, &bodies, &over).await, 2, "no caching");
    assert!(counters("sizes::keyed").errors > before.errors, "counted");
    assert_eq!(forget_keyed(cache, &over).await, 7);

    let health = cache.health();
    assert_eq!(health.state, BreakerState::Closed, "{health:?}");
    assert_eq!(health.pending_invalidations, 0, "{health:?}");
    assert_eq!(health.consecutive_failures, 0, "{health:?}");
    // And the cache is still in use, with keys up to the limit.
    let longest = "f".repeat(MAX_KEY - 4);
    assert_eq!(keyed(cache, &bodies, &longest).await, 3);
    assert_eq!(keyed(cache, &bodies, &longest).await, 3, "a hit");
}

/// The default limits: 16 KiB keys and 1 MiB values, prefix included, are accepted; one
/// byte more is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_default_limits() {
    let store = Backend::redis();
    let cache = &store.cache;
    let longest = "k".repeat(DEFAULT_MAX_KEY_SIZE);
    cache.set(&longest, "1", None).await.unwrap();
    assert_eq!(store.stored(&longest).await.as_deref(), Some("1"));
    let error = cache
        .get(&"k".repeat(DEFAULT_MAX_KEY_SIZE + 1))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::KeyTooLarge, "{error}");
    let message = error.to_string();
    assert!(
        message.len() < 1024,
        "the message quotes only the start of the key: {} bytes",
        message.len()
    );

    cache
        .set("big", &"v".repeat(DEFAULT_MAX_VALUE_SIZE), None)
        .await
        .unwrap();
    let error = cache
        .set("bigger", &"v".repeat(DEFAULT_MAX_VALUE_SIZE + 1), None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::ValueTooLarge, "{error}");
    assert_eq!(store.stored("bigger").await, None);
}
