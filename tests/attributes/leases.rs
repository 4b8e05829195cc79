//! Leases through `#[cached]`: a load elsewhere (another handle, as another process would
//! have) is waited for instead of repeated, and an invalidation from elsewhere during a
//! load keeps its value from being stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{SharedCache, cached, invalidate};
use tokio::sync::Notify;

use crate::support::backend::Backend;
use crate::support::wait::bounded;

/// The bound on a whole test's calls.
const LIMIT: Duration = Duration::from_secs(10);

pub struct Rows {
    ns: String,
    /// The "database": one value per row.
    value: std::sync::Mutex<&'static str>,
    reads: AtomicUsize,
    /// Set while a read is inside its body, between the database read and the return.
    entered: Notify,
    release: Notify,
    /// Whether reads wait for `release` after reading.
    hold: std::sync::atomic::AtomicBool,
}

impl Rows {
    fn new(b: &Backend) -> Arc<Self> {
        Arc::new(Rows {
            ns: b.ns.clone(),
            value: std::sync::Mutex::new("old"),
            reads: AtomicUsize::new(0),
            entered: Notify::new(),
            release: Notify::new(),
            hold: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    #[cached(key = "{self.ns}:row:{id}", ttl = 600, tags = ["{self.ns}:tag:{id}"], cache = cache)]
    async fn read(&self, cache: &SharedCache, id: u32) -> String {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let value = format!("{id}:{}", self.value.lock().unwrap());
        if self.hold.load(Ordering::SeqCst) {
            self.entered.notify_one();
            self.release.notified().await;
        }
        value
    }

    fn write(&self, value: &'static str) {
        *self.value.lock().unwrap() = value;
    }

    #[invalidate(key = "{self.ns}:row:{id}", cache = cache)]
    async fn update_by_key(&self, cache: &SharedCache, id: u32, value: &'static str) {
        self.write(value);
    }

    #[invalidate(pattern = "{self.ns}:row:{id}*", cache = cache)]
    async fn update_by_pattern(&self, cache: &SharedCache, id: u32, value: &'static str) {
        self.write(value);
    }

    #[invalidate(tags = ["{self.ns}:tag:{id}"], cache = cache)]
    async fn update_by_tag(&self, cache: &SharedCache, id: u32, value: &'static str) {
        self.write(value);
    }

    #[cached(key = "{self.ns}:slow", lease = "5s", cache = cache)]
    async fn slow(&self, cache: &SharedCache) -> u32 {
        self.reads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await;
        42
    }

    #[cached(key = "{self.ns}:brief", lease = Duration::from_millis(50), cache = cache)]
    async fn outlives_its_lease(&self, cache: &SharedCache) -> u32 {
        self.reads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        7
    }

    #[cached(key = "{self.ns}:flaky", ttl = 600, cache = cache)]
    async fn fails_first(&self, cache: &SharedCache) -> std::io::Result<u32> {
        if self.reads.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(std::io::Error::other("the database is down"));
        }
        Ok(1)
    }
}

pub async fn callers_on_another_handle_wait_for_the_load(b: Backend) {
    let rows = Rows::new(&b);
    let calls: Vec<_> = (0..40)
        .map(|n| {
            let rows = Arc::clone(&rows);
            // Half the callers on each handle: two "processes" of 20 callers.
            let cache = if n % 2 == 0 {
                b.cache.clone()
            } else {
                b.twin.clone()
            };
            tokio::spawn(async move { rows.slow(&cache).await })
        })
        .collect();
    let values = bounded(LIMIT, "40 callers on two handles", async {
        let mut values = Vec::new();
        for call in calls {
            values.push(call.await.expect("a caller panicked"));
        }
        values
    })
    .await;
    assert_eq!(values, vec![42; 40]);
    assert_eq!(rows.reads(), 1, "the body ran once for both handles");
}

pub async fn a_body_that_outlives_its_lease_is_not_stored(b: Backend) {
    let rows = Rows::new(&b);
    assert_eq!(rows.outlives_its_lease(&b.cache).await, 7);
    assert_eq!(b.stored(&b.key("brief")).await, None, "the lease ran out");
    assert_eq!(rows.outlives_its_lease(&b.cache).await, 7);
    assert_eq!(rows.reads(), 2);
}

pub async fn an_err_gives_the_lease_back_at_once(b: Backend) {
    let rows = Rows::new(&b);
    assert!(rows.fails_first(&b.cache).await.is_err());
    // Another handle does not wait for a lease that no value will replace. Given back on
    // a task of its own, it may still be there for a moment; the bound is far below the
    // lease's 10 s.
    let again = bounded(
        Duration::from_secs(3),
        "a load after a failed one",
        rows.fails_first(&b.twin),
    )
    .await;
    assert_eq!(again.unwrap(), 1);
    assert_eq!(b.stored(&b.key("flaky")).await.as_deref(), Some("1"));
}

/// One read loads `old` and is held between its database read and its return while an
/// update writes `new` and invalidates through the other handle (no in-process single
/// flight in common, as with another process); the read returns `old` but does not store
/// it, and the next read loads `new`.
async fn an_invalidation_from_elsewhere_during_a_load(b: Backend, how: &str) {
    let rows = Rows::new(&b);
    rows.hold.store(true, Ordering::SeqCst);
    let early = tokio::spawn({
        let (rows, cache) = (Arc::clone(&rows), b.cache.clone());
        async move { rows.read(&cache, 1).await }
    });
    bounded(LIMIT, "the early read loading", rows.entered.notified()).await;
    let key = b.key("row:1");
    assert!(holds_lease(&b.cache, &key).await);
    match how {
        "key" => rows.update_by_key(&b.twin, 1, "new").await,
        "pattern" => rows.update_by_pattern(&b.twin, 1, "new").await,
        _ => rows.update_by_tag(&b.twin, 1, "new").await,
    }
    rows.hold.store(false, Ordering::SeqCst);
    rows.release.notify_one();
    let early = bounded(LIMIT, "the early read", early).await.unwrap();
    assert_eq!(early, "1:old", "the early read overlapped the write");
    assert_eq!(
        b.stored(&key).await,
        None,
        "{how}: the older load was not stored"
    );
    assert_eq!(rows.read(&b.cache, 1).await, "1:new");
    assert_eq!(b.stored(&key).await.as_deref(), Some(r#""1:new""#));
}

pub async fn a_key_invalidation_from_elsewhere_beats_a_load(b: Backend) {
    an_invalidation_from_elsewhere_during_a_load(b, "key").await;
}

pub async fn a_pattern_invalidation_from_elsewhere_beats_a_load(b: Backend) {
    an_invalidation_from_elsewhere_during_a_load(b, "pattern").await;
}

pub async fn a_tag_invalidation_from_elsewhere_beats_a_load(b: Backend) {
    an_invalidation_from_elsewhere_during_a_load(b, "tag").await;
}

/// A call that starts after an invalidation made through another handle does not join the
/// load that the invalidation overtook: it finds the lease gone and loads afresh.
pub async fn a_call_after_an_invalidation_from_elsewhere_does_not_join_the_older_load(b: Backend) {
    let rows = Rows::new(&b);
    rows.hold.store(true, Ordering::SeqCst);
    let early = tokio::spawn({
        let (rows, cache) = (Arc::clone(&rows), b.cache.clone());
        async move { rows.read(&cache, 1).await }
    });
    bounded(LIMIT, "the early read loading", rows.entered.notified()).await;
    rows.update_by_key(&b.twin, 1, "new").await;
    // The early read is still held; this call starts after the invalidation returned.
    rows.hold.store(false, Ordering::SeqCst);
    let late = bounded(LIMIT, "a read after the update", rows.read(&b.cache, 1)).await;
    assert_eq!(late, "1:new", "not the older load's value");
    rows.release.notify_one();
    assert_eq!(
        bounded(LIMIT, "the early read", early).await.unwrap(),
        "1:old"
    );
    assert_eq!(rows.read(&b.cache, 1).await, "1:new");
}

/// A leader cancelled while no other caller waits for it gives its lease back, so callers
/// elsewhere do not wait for it to expire.
pub async fn a_cancelled_leader_with_no_waiter_gives_its_lease_back(b: Backend) {
    let rows = Rows::new(&b);
    rows.hold.store(true, Ordering::SeqCst);
    let leader = tokio::spawn({
        let (rows, cache) = (Arc::clone(&rows), b.cache.clone());
        async move { rows.read(&cache, 2).await }
    });
    bounded(LIMIT, "the leader loading", rows.entered.notified()).await;
    let key = b.key("row:2");
    assert!(holds_lease(&b.twin, &key).await);
    leader.abort();
    let twin = &b.twin;
    let key = &key;
    // Far below the default lease of 10 s.
    bounded(Duration::from_secs(3), "the lease given back", async move {
        while holds_lease(twin, key).await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Whether `key` holds a lease marker: something is there (`exists`) that is no value.
async fn holds_lease(cache: &SharedCache, key: &str) -> bool {
    cache.exists(key).await.unwrap() && cache.get(key).await.unwrap().is_none()
}
