//! The port as application code and adapter authors see it: an adapter of four methods plugs
//! into the attributes, a decorator that forwards the capabilities in one line each keeps
//! their guarantees, every handle offers the same methods, and every future is `Send`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{
    CacheError, ErrorCode, Leases, MemoryCache, Outage, SharedCache, StoreId, cached, get_or_load,
    invalidate,
};
use tokio::sync::{Notify, Semaphore};

/// Generous "did not hang" bound on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(10);

/// A user-written adapter of the four required methods only: a map, without expiry.
#[derive(Default)]
struct MapCache {
    entries: Mutex<HashMap<String, String>>,
}

impl MapCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Cache for MapCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        Ok(self.entries().get(key).cloned())
    }
    async fn set(&self, key: &str, value: &str, _: Option<Duration>) -> Result<(), CacheError> {
        self.entries().insert(key.to_owned(), value.to_owned());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        Ok(self.entries().remove(key).is_some())
    }
    async fn delete_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
        // Enough for these tests: a trailing `*` only.
        let prefix = pattern.trim_end_matches('*');
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|key, _| !key.starts_with(prefix));
        Ok((before - entries.len()) as u64)
    }
}

#[cached(key = "plain:{n}", cache = map)]
async fn plain_load(map: &MapCache, n: u32, runs: &AtomicUsize) -> u32 {
    runs.fetch_add(1, Ordering::SeqCst);
    n * 10
}

#[invalidate(key = "plain:{n}", cache = map)]
async fn plain_update(map: &MapCache, n: u32) -> Result<(), std::io::Error> {
    Ok(())
}

#[tokio::test]
async fn an_adapter_of_four_methods_works_with_the_attributes() {
    let map = MapCache::default();
    let runs = AtomicUsize::new(0);
    assert_eq!(plain_load(&map, 4, &runs).await, 40);
    assert_eq!(plain_load(&map, 4, &runs).await, 40);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the second call is a hit");
    assert_eq!(map.entries().get("plain:4").map(String::as_str), Some("40"));

    plain_update(&map, 4).await.unwrap();
    assert!(map.entries().is_empty(), "#[invalidate] deleted the key");
    assert_eq!(plain_load(&map, 4, &runs).await, 40);
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // What the defaults of the port give it: no capabilities, a healthy breaker, and tags
    // refused at invalidation.
    assert!(map.leases().is_none());
    assert!(map.outage().is_none());
    assert_eq!(map.health(), Default::default());
    let error = map.invalidate_tags(&["t"]).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Delete);
    assert_eq!(map.get_json::<u32>("plain:4").await.unwrap(), Some(40));
}

/// A decorator over any cache that counts reads (the one method it changes) and forwards
/// the rest, the capabilities in one line each.
#[derive(Clone)]
struct Counting<C> {
    inner: C,
    reads: Arc<AtomicUsize>,
}

impl<C> Counting<C> {
    fn new(inner: C) -> Self {
        Counting {
            inner,
            reads: Arc::default(),
        }
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

impl<C: Cache> Cache for Counting<C> {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        self.inner.set(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        self.inner.delete(key).await
    }
    async fn delete_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
        self.inner.delete_pattern(pattern).await
    }
    fn store_id(&self) -> StoreId {
        self.inner.store_id()
    }
    fn leases(&self) -> Option<&dyn Leases> {
        self.inner.leases()
    }
    fn outage(&self) -> Option<&dyn Outage> {
        self.inner.outage()
    }
}

impl<C: KeyValue> KeyValue for Counting<C> {
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

/// A decorator without the capability lines (over one that counts reads): what a wrapper
/// that forgets them gets.
#[derive(Clone)]
struct Forgetful(Counting<MemoryCache>);

impl Cache for Forgetful {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        self.0.get(key).await
    }
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        self.0.set(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        self.0.delete(key).await
    }
    async fn delete_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
        self.0.delete_pattern(pattern).await
    }
}

/// A body that says when it started and runs until it is let go (or at once, ungated).
struct Body {
    value: u32,
    runs: AtomicUsize,
    started: Notify,
    go: Option<Semaphore>,
}

impl Body {
    fn new(value: u32, gated: bool) -> Arc<Self> {
        Arc::new(Body {
            value,
            runs: AtomicUsize::new(0),
            started: Notify::new(),
            go: gated.then(|| Semaphore::new(0)),
        })
    }

    fn gated(value: u32) -> Arc<Self> {
        Body::new(value, true)
    }

    fn quick(value: u32) -> Arc<Self> {
        Body::new(value, false)
    }

    async fn run(&self) -> u32 {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.started.notify_one();
        if let Some(go) = &self.go {
            let _permit = go.acquire().await.expect("never closed");
        }
        self.value
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    fn go(&self) {
        if let Some(go) = &self.go {
            go.add_permits(1);
        }
    }
}

#[cached(key = "load:{n}", cache = cache, lease = "10s")]
async fn load<C: Cache>(cache: &C, n: u32, body: &Body) -> u32 {
    body.run().await
}

/// Two handles onto one `MemoryCache` that share no in-process flight (the second is a view
/// with an empty prefix: the same entries, another `StoreId`), so that only the lease can
/// make the second wait for the first, as a handle in another process would.
fn two_handles(memory: &MemoryCache) -> (MemoryCache, MemoryCache) {
    let (first, second) = (memory.clone(), memory.with_prefix(""));
    assert_ne!(first.store_id(), second.store_id());
    (first, second)
}

/// The first handle's load holds the key while the second handle misses; what the second
/// call returns, and whether its own body ran.
async fn second_call_during_a_load<C, R>(first: C, second: C, reads: R, n: u32) -> (u32, usize)
where
    C: Cache + Clone + 'static,
    R: Fn() -> usize,
{
    let (leading, following) = (Body::gated(1), Body::quick(2));
    let leader = tokio::spawn({
        let leading = Arc::clone(&leading);
        async move { load(&first, n, &leading).await }
    });
    tokio::time::timeout(PATIENCE, leading.started.notified())
        .await
        .expect("the leader's body started");
    let before = reads();
    let follower = tokio::spawn({
        let following = Arc::clone(&following);
        async move { load(&second, n, &following).await }
    });
    // Once the second handle has read the key and missed, only a lease can keep its body
    // from running: then the leader goes on.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while reads() == before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the follower never read"
        );
        tokio::task::yield_now().await;
    }
    leading.go();
    let led = tokio::time::timeout(PATIENCE, leader)
        .await
        .expect("no hang");
    assert_eq!(led.unwrap(), 1);
    let followed = tokio::time::timeout(PATIENCE, follower)
        .await
        .expect("the follower did not hang")
        .unwrap();
    (followed, following.runs())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarding_decorator_keeps_the_leases() {
    let memory = MemoryCache::new();
    let (one, two) = two_handles(&memory);
    let (first, second) = (Counting::new(one), Counting::new(two));
    assert!(first.leases().is_some(), "forwarded");
    let reads = {
        let second = second.clone();
        move || second.reads()
    };
    let (value, runs) = second_call_during_a_load(first, second, reads, 1).await;
    assert_eq!(value, 1, "the second handle got the first's value");
    assert_eq!(runs, 0, "and did not load");
}

/// The control for the test above: without the capability, the second handle loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decorator_that_forgets_the_capabilities_loses_the_leases() {
    let memory = MemoryCache::new();
    let (one, two) = two_handles(&memory);
    let (first, second) = (Forgetful(Counting::new(one)), Forgetful(Counting::new(two)));
    assert!(first.leases().is_none());
    let reads = {
        let second = second.clone();
        move || second.0.reads()
    };
    let (value, runs) = second_call_during_a_load(first, second, reads, 2).await;
    assert_eq!(
        (value, runs),
        (2, 1),
        "plain cache-aside: the second handle loads"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_leader_through_a_decorator_gives_its_lease_back() {
    let memory = MemoryCache::new();
    let (one, two) = two_handles(&memory);
    let (first, second) = (Counting::new(one), Counting::new(two));
    let stuck = Body::gated(1);
    let leader = tokio::spawn({
        let stuck = Arc::clone(&stuck);
        async move { load(&first, 3, &stuck).await }
    });
    tokio::time::timeout(PATIENCE, stuck.started.notified())
        .await
        .expect("the leader's body started");
    assert!(memory.exists("load:3").await.unwrap(), "it holds the lease");
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());

    // No wait for the lease (10 s): the next call on another handle takes it, loads, and
    // stores, which only a lease holder does.
    let quick = Body::quick(2);
    let value = tokio::time::timeout(Duration::from_secs(5), load(&second, 3, &quick))
        .await
        .expect("the next call waited for the cancelled leader's lease");
    assert_eq!(value, 2);
    assert_eq!(quick.runs(), 1);
    assert_eq!(memory.get("load:3").await.unwrap().as_deref(), Some("2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_cache_holds_a_decorator_with_its_capabilities() {
    let decorator = Counting::new(MemoryCache::new());
    let shared = SharedCache::new(decorator.clone());
    assert_eq!(shared.store_id(), decorator.store_id());
    assert!(shared.leases().is_some());
    shared.set("k", "v", None).await.unwrap();
    assert_eq!(shared.get("k").await.unwrap().as_deref(), Some("v"));
    assert_eq!(decorator.reads(), 1, "through the decorator");

    let body = Body::quick(5);
    assert_eq!(load(&shared, 4, &body).await, 5);
    assert_eq!(load(&shared, 4, &body).await, 5);
    assert_eq!(body.runs(), 1);
    exercise(shared).await;
}

/// The decorator passes the whole exported suite, leases and tags included.
#[cfg(feature = "conformance")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarding_decorator_passes_the_conformance_suite() {
    cache_aside::conformance::run_all(|| async { Counting::new(MemoryCache::new()) }).await;
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

/// Generic application code: compiles only if every future is `Send` for any `C: KeyValue`.
async fn exercise<C: KeyValue + Clone + 'static>(cache: C) {
    let spawned = tokio::spawn({
        let cache = cache.clone();
        async move {
            cache.set("k", "1", None).await.unwrap();
            cache
                .set_json("j", &[1, 2], Some(Duration::from_secs(60)))
                .await
                .unwrap();
            let _: Option<Vec<u8>> = cache.get_json("j").await.unwrap();
            cache.increment("k", 1).await.unwrap();
            cache.decrement("k", 1).await.unwrap();
            cache.expire("k", Duration::from_secs(60)).await.unwrap();
            cache.ttl("k").await.unwrap();
            cache.exists("k").await.unwrap();
            cache.get_many(&["k", "j"]).await.unwrap();
            cache.set_many(&[("a", "1")], None).await.unwrap();
            cache.delete_pattern("a*").await.unwrap();
            cache.delete("j").await.unwrap();
            cache.invalidate_tags(&["t"]).await.unwrap();
            cache.ping().await.unwrap();
            cache.get("k").await.unwrap()
        }
    });
    assert_eq!(spawned.await.unwrap().as_deref(), Some("1"));
    assert_send(cache.flush()).await.unwrap();
}

#[tokio::test]
async fn every_handle_offers_the_whole_port_with_send_futures() {
    exercise(MemoryCache::new()).await;
    exercise(SharedCache::new(MemoryCache::new())).await;
    exercise(Arc::new(MemoryCache::new())).await;
    exercise(cache_aside::global().clone()).await;
}

#[tokio::test]
async fn a_user_written_decorator_plugs_in_everywhere() {
    let custom = Counting::new(MemoryCache::new());
    exercise(custom.clone()).await;

    // Held as "some cache", as application code would.
    let shared: SharedCache = SharedCache::new(custom.clone());
    let value: Result<u32, ()> = get_or_load(&shared, "n", None, || async { Ok(9) }).await;
    assert_eq!(value, Ok(9));
    let value: Result<u32, ()> = get_or_load(&shared, "n", None, || async { Err(()) }).await;
    assert_eq!(
        value,
        Ok(9),
        "the second call is a hit through the user's adapter"
    );
    assert!(custom.reads() >= 3);
}

#[test]
fn wrapping_a_shared_cache_does_not_nest_handles() {
    let shared = SharedCache::new(MemoryCache::new());
    let again = SharedCache::new(shared.clone());
    assert_eq!(shared.store_id(), again.store_id());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        shared.set("k", "v", None).await.unwrap();
        assert_eq!(again.get("k").await.unwrap().as_deref(), Some("v"));
    });
}

/// A zero-sized adapter: every value of it reaches the same store.
struct Unit<const N: u8>;

impl<const N: u8> Cache for Unit<N> {
    async fn get(&self, _: &str) -> Result<Option<String>, CacheError> {
        Ok(None)
    }
    async fn set(&self, _: &str, _: &str, _: Option<Duration>) -> Result<(), CacheError> {
        Ok(())
    }
    async fn delete(&self, _: &str) -> Result<bool, CacheError> {
        Ok(false)
    }
    async fn delete_pattern(&self, _: &str) -> Result<u64, CacheError> {
        Ok(0)
    }
}

/// Single flight shares a load only between calls on caches of one `StoreId`: handles onto
/// one view agree, different views and different stores differ.
#[test]
fn store_ids_follow_the_store_not_the_handle() {
    let memory = MemoryCache::new();
    let clone = memory.clone();
    assert_eq!(memory.store_id(), clone.store_id(), "clones share a view");
    assert_eq!(memory.store_id(), Cache::store_id(&&memory));
    assert_eq!(memory.store_id(), Arc::new(memory.clone()).store_id());
    assert_eq!(memory.store_id(), SharedCache::new(clone).store_id());
    assert_eq!(memory.store_id(), Counting::new(memory.clone()).store_id());
    assert_ne!(memory.store_id(), memory.with_prefix("a:").store_id());
    assert_ne!(memory.store_id(), MemoryCache::new().store_id());
    assert_eq!(Unit::<1>.store_id(), Unit::<1>.store_id());
    assert_ne!(
        Unit::<1>.store_id(),
        Unit::<2>.store_id(),
        "two zero-sized adapters"
    );
    // A sized adapter without a store_id of its own: by address.
    let (a, b) = (MapCache::default(), MapCache::default());
    assert_ne!(a.store_id(), b.store_id());

    // Built lazily: no server is needed to compare handles.
    let redis = cache_aside::RedisCache::new("redis://127.0.0.1:1").unwrap();
    assert_eq!(redis.store_id(), redis.clone().store_id());
    assert_ne!(redis.store_id(), redis.with_prefix("a:").store_id());
}
