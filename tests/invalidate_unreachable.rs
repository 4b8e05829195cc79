//! Issue 10, item 10 (targets skipped after an unreachable one are not marked stale
//! in-process): `#[invalidate(key = "a", key = "b", key = "c")]` on a cache that is
//! unreachable at "a" and keeps no deletion for later gives up "b" and "c" with "a", as it
//! should (each would wait as long again); but loads of "b" and "c" running in this process
//! must still be marked, so that they do not store what they read before the write. Today
//! only "a"'s loads are marked, and "b" and "c" store their old values for their TTL.
//!
//! `RedisCache` keeps every deletion it could not send (and `MemoryCache` is never out of
//! reach), so only an adapter without queued deletions takes this path: the test brings
//! its own, over a `MemoryCache`. **It implements today's `Cache` port**: when the port
//! changes, port `Unreachable` (the only part that names the port), which is why the test
//! is a binary of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{CacheError, ErrorCode, MemoryCache, SharedCache, cached, invalidate};
use tokio::sync::Notify;

const LIMIT: Duration = Duration::from_secs(10);

/// An adapter over a `MemoryCache` that cannot reach its store to delete `down`, and keeps
/// no deletion for later.
struct Unreachable {
    inner: MemoryCache,
    down: String,
}

impl Cache for Unreachable {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        self.inner.set(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        if key == self.down {
            return Err(CacheError::new(
                ErrorCode::Connection,
                "the store is out of reach",
            ));
        }
        self.inner.delete(key).await
    }
    async fn delete_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
        self.inner.delete_pattern(pattern).await
    }
}

impl KeyValue for Unreachable {
    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        self.inner.exists(key).await
    }
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        self.inner.expire(key, ttl).await
    }
    async fn increment(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        self.inner.increment(key, amount).await
    }
    async fn decrement(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        self.inner.decrement(key, amount).await
    }
    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        self.inner.ttl(key).await
    }
    async fn flush(&self) -> Result<(), CacheError> {
        self.inner.flush().await
    }
    async fn ping(&self) -> Result<(), CacheError> {
        self.inner.ping().await
    }
    async fn get_many(&self, keys: &[&str]) -> Result<HashMap<String, Option<String>>, CacheError> {
        self.inner.get_many(keys).await
    }
    async fn set_many(
        &self,
        entries: &[(&str, &str)],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        self.inner.set_many(entries, ttl).await
    }
}

/// The "database", and a hold on the loads between their read and their return.
#[derive(Default)]
struct Db {
    rows: Mutex<HashMap<String, String>>,
    entered: Notify,
    release: Notify,
}

#[cached(key = "{row}", ttl = 600, cache = cache)]
async fn read(cache: &SharedCache, db: &Db, row: &str, hold: bool) -> String {
    let value = db
        .rows
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(row)
        .cloned()
        .unwrap_or_default();
    if hold {
        // Waiting for the release before announcing the read, so that a release sent to
        // every waiter right after cannot be missed.
        let release = db.release.notified();
        tokio::pin!(release);
        release.as_mut().enable();
        db.entered.notify_one();
        release.await;
    }
    value
}

#[invalidate(key = "a", key = "b", key = "c", cache = cache)]
async fn update(cache: &SharedCache, db: &Db, value: &str) {
    let mut rows = db.rows.lock().unwrap_or_else(PoisonError::into_inner);
    for row in ["a", "b", "c"] {
        rows.insert(row.to_owned(), value.to_owned());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_after_an_unreachable_one_are_marked_stale_in_process() {
    let store = MemoryCache::new();
    let cache = SharedCache::new(Unreachable {
        inner: store.clone(),
        down: "a".to_owned(),
    });
    let db = Arc::new(Db::default());
    db.rows
        .lock()
        .unwrap()
        .extend(["a", "b", "c"].map(|row| (row.to_owned(), "old".to_owned())));

    // Loads of "b" and "c", each held after reading "old".
    let mut loads = Vec::new();
    for row in ["b", "c"] {
        let entered = db.entered.notified();
        loads.push(tokio::spawn({
            let (cache, db) = (cache.clone(), Arc::clone(&db));
            async move { read(&cache, &db, row, true).await }
        }));
        tokio::time::timeout(LIMIT, entered)
            .await
            .unwrap_or_else(|_| panic!("the load of {row} did not start within {LIMIT:?}"));
    }

    // The write; its invalidation fails at "a" and gives "b" and "c" up.
    update(&cache, &db, "new").await;
    db.release.notify_waiters();
    for load in loads {
        let value = tokio::time::timeout(LIMIT, load)
            .await
            .expect("a held load finished")
            .expect("a held load");
        assert_eq!(value, "old", "the loads overlapped the write");
    }

    for row in ["b", "c"] {
        let stored = store.get(row).await.expect("MemoryCache::get");
        println!("unreachable at a: after the update, {row} holds {stored:?}");
        assert_eq!(
            stored, None,
            "a load of {row} that overlapped an #[invalidate] unreachable at an earlier \
             target stored what it read before the write"
        );
        assert_eq!(read(&cache, &db, row, false).await, "new");
    }
}
