//! `cache = ...` and `crate = ...`: which cache a call uses, when the expression is
//! evaluated, and what the call asks of it. On `MemoryCache` and a recording wrapper.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{CacheError, MemoryCache, SharedCache, cache_put, cached, invalidate};

/// A `MemoryCache` that logs every operation asked of it, as `"get k"`, `"set k"`, ...
#[derive(Default)]
pub struct Recording {
    inner: MemoryCache,
    log: Mutex<Vec<String>>,
    /// When set, a `set` signals the first `Notify` and waits for the second before it
    /// writes: a write held in flight.
    set_gate: Mutex<Option<(Arc<tokio::sync::Notify>, Arc<tokio::sync::Notify>)>>,
}

impl Recording {
    fn note(&self, op: &str, key: &str) {
        self.log.lock().unwrap().push(format!("{op} {key}"));
    }

    /// The operations so far, emptying the log.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

impl Cache for Recording {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<String>, CacheError>> + Send {
        self.note("get", key);
        self.inner.get(key)
    }
    fn set(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<(), CacheError>> + Send {
        self.note("set", key);
        let gate = self.set_gate.lock().unwrap().take();
        async move {
            if let Some((entered, release)) = gate {
                entered.notify_one();
                release.notified().await;
            }
            self.inner.set(key, value, ttl).await
        }
    }
    fn delete(&self, key: &str) -> impl Future<Output = Result<bool, CacheError>> + Send {
        self.note("delete", key);
        self.inner.delete(key)
    }
    fn delete_pattern(
        &self,
        pattern: &str,
    ) -> impl Future<Output = Result<u64, CacheError>> + Send {
        self.note("delete_pattern", pattern);
        self.inner.delete_pattern(pattern)
    }
}

#[cached(key = "cond:{id}", cache = cache, condition = id != 0)]
async fn conditional(cache: &Recording, id: u32) -> u32 {
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_condition_asks_nothing_of_the_cache() {
    let cache = Recording::default();
    assert_eq!(conditional(&cache, 0).await, 0);
    assert_eq!(conditional(&cache, 0).await, 0);
    assert_eq!(cache.take(), Vec::<String>::new());

    assert_eq!(conditional(&cache, 1).await, 1);
    let ops = cache.take();
    assert_eq!(
        ops.first().map(String::as_str),
        Some("get cond:1"),
        "{ops:?}"
    );
    assert_eq!(
        ops.last().map(String::as_str),
        Some("set cond:1"),
        "{ops:?}"
    );
    assert_eq!(conditional(&cache, 1).await, 1);
    assert_eq!(cache.take(), ["get cond:1"], "a hit is one read");
}

/// Stacked attributes, each with targets in a chosen order.
#[invalidate(key = "order:1", pattern = "order:2:*", key = "order:3", cache = cache)]
#[invalidate(pattern = "order:4*", key = "order:5", cache = cache)]
#[invalidate(key = "order:6", crate = "cache_aside", cache = cache)]
async fn ordered(cache: &Recording) -> Result<(), String> {
    cache.note("body", "");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stacked_invalidations_run_in_the_order_written() {
    let cache = Recording::default();
    ordered(&cache).await.unwrap();
    assert_eq!(
        cache.take(),
        [
            "body ",
            "delete order:1",
            "delete_pattern order:2:*",
            "delete order:3",
            "delete_pattern order:4*",
            "delete order:5",
            "delete order:6"
        ]
    );
}

/// A service whose cache expression is a method that counts its evaluations.
struct Picky {
    cache: Recording,
    picks: AtomicUsize,
    runs: AtomicUsize,
}

impl Picky {
    fn pick(&self) -> &Recording {
        self.picks.fetch_add(1, Ordering::SeqCst);
        self.cache.note("pick", "");
        &self.cache
    }

    #[cached(key = "picky:{id}", cache = self.pick())]
    async fn read(&self, id: u32) -> u32 {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.cache.note("body", "");
        id
    }

    #[cache_put(key = "picky:{id}", cache = self.pick())]
    async fn write(&self, id: u32) -> u32 {
        self.cache.note("body", "");
        id + 1
    }

    #[invalidate(key = "picky:{id}", key = "picky:other", cache = self.pick())]
    async fn remove(&self, id: u32) {
        self.cache.note("body", "");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_expression_is_evaluated_once_per_call() {
    let picky = Picky {
        cache: Recording::default(),
        picks: AtomicUsize::new(0),
        runs: AtomicUsize::new(0),
    };
    assert_eq!(picky.read(1).await, 1);
    assert_eq!(
        picky.picks.load(Ordering::SeqCst),
        1,
        "a miss: one evaluation"
    );
    let ops = picky.cache.take();
    assert_eq!(ops.first().map(String::as_str), Some("pick "), "{ops:?}");
    assert!(ops.contains(&"body ".to_owned()), "{ops:?}");
    assert_eq!(picky.read(1).await, 1);
    assert_eq!(
        picky.picks.load(Ordering::SeqCst),
        2,
        "a hit: one evaluation"
    );
    picky.cache.take();

    // `#[cache_put]` and `#[invalidate]` evaluate it after the body.
    assert_eq!(picky.write(1).await, 2);
    assert_eq!(picky.cache.take(), ["body ", "pick ", "set picky:1"]);
    picky.remove(1).await;
    assert_eq!(
        picky.cache.take(),
        ["body ", "pick ", "delete picky:1", "delete picky:other"]
    );
    assert_eq!(picky.picks.load(Ordering::SeqCst), 4);
    assert_eq!(picky.runs.load(Ordering::SeqCst), 1);
}

fn app_cache() -> &'static MemoryCache {
    static CACHE: OnceLock<MemoryCache> = OnceLock::new();
    CACHE.get_or_init(MemoryCache::new)
}

/// A service holding caches of several types.
struct Caches {
    memory: MemoryCache,
    arc: Arc<MemoryCache>,
    shared: SharedCache,
    calls: AtomicUsize,
}

impl Caches {
    #[cached(key = "types:memory", cache = self.memory)]
    async fn on_memory(&self) -> u32 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        1
    }

    #[cached(key = "types:arc", cache = self.arc)]
    async fn on_arc(&self) -> u32 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        2
    }

    #[cached(key = "types:shared-clone", cache = self.shared.clone())]
    async fn on_shared_clone(&self) -> u32 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        3
    }

    #[cached(key = "types:fn", cache = app_cache())]
    async fn on_function(&self) -> u32 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        4
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_cache_type_can_be_given() {
    let inner = MemoryCache::new();
    let caches = Caches {
        memory: MemoryCache::new(),
        arc: Arc::new(MemoryCache::new()),
        shared: SharedCache::new(inner.clone()),
        calls: AtomicUsize::new(0),
    };
    for _ in 0..2 {
        assert_eq!(caches.on_memory().await, 1);
        assert_eq!(caches.on_arc().await, 2);
        assert_eq!(caches.on_shared_clone().await, 3);
        assert_eq!(caches.on_function().await, 4);
    }
    assert_eq!(
        caches.calls.load(Ordering::SeqCst),
        4,
        "every second call hits"
    );
    assert_eq!(
        caches.memory.get("types:memory").await.unwrap().as_deref(),
        Some("1")
    );
    assert_eq!(
        caches.arc.get("types:arc").await.unwrap().as_deref(),
        Some("2")
    );
    assert_eq!(
        inner.get("types:shared-clone").await.unwrap().as_deref(),
        Some("3"),
        "a clone of a SharedCache is the same store"
    );
    assert!(caches.memory.get("types:arc").await.unwrap().is_none());
}

/// No `cache`: `cache_aside::global()`, which falls back to a `MemoryCache` as nothing in
/// this test binary installs one.
#[cached(key = "attributes:global:{id}", ttl = 60)]
async fn on_global(calls: &AtomicUsize, id: u32) -> u32 {
    calls.fetch_add(1, Ordering::SeqCst);
    id
}

#[cache_put(key = "attributes:global:{id}")]
async fn put_global(id: u32) -> u32 {
    id + 100
}

#[invalidate(pattern = "attributes:global:{id}*")]
async fn drop_global(id: u32) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cache_the_global_default_is_used() {
    let calls = AtomicUsize::new(0);
    let global = cache_aside::global();
    assert_eq!(on_global(&calls, 1).await, 1);
    assert_eq!(
        global.get("attributes:global:1").await.unwrap().as_deref(),
        Some("1")
    );
    assert!(global.ttl("attributes:global:1").await.unwrap().is_some());
    assert_eq!(on_global(&calls, 1).await, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    assert_eq!(put_global(1).await, 101);
    assert_eq!(on_global(&calls, 1).await, 101);
    drop_global(1).await;
    assert_eq!(global.get("attributes:global:1").await.unwrap(), None);
    assert_eq!(on_global(&calls, 1).await, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// The crate under another name, as `crate = "..."` is for.
mod renamed {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use cache_aside as my_cache;
    use my_cache::MemoryCache;

    #[my_cache::cached(crate = "my_cache", key = "renamed:{id}", cache = cache, ttl = "1m")]
    pub async fn read(cache: &MemoryCache, calls: &AtomicUsize, id: u32) -> Option<u32> {
        calls.fetch_add(1, Ordering::SeqCst);
        Some(id)
    }

    #[my_cache::cache_put(crate = "my_cache", key = "renamed:{id}", cache = cache)]
    pub async fn write(cache: &MemoryCache, id: u32) -> Option<u32> {
        Some(id * 2)
    }

    #[my_cache::invalidate(crate = "my_cache", key = "renamed:{id}", cache = cache)]
    pub async fn remove(cache: &MemoryCache, id: u32) -> Option<u32> {
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crate_argument_names_the_crate() {
    let cache = MemoryCache::new();
    let calls = AtomicUsize::new(0);
    assert_eq!(renamed::read(&cache, &calls, 2).await, Some(2));
    assert_eq!(renamed::read(&cache, &calls, 2).await, Some(2));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(renamed::write(&cache, 2).await, Some(4));
    assert_eq!(cache.get("renamed:2").await.unwrap().as_deref(), Some("4"));
    assert_eq!(renamed::remove(&cache, 2).await, None);
    assert_eq!(cache.get("renamed:2").await.unwrap(), None);
    assert!(cache_aside::stats_for("attributes::caches::renamed::read").is_some());
}

/// A tenant's repository: its own cache, and a body that answers for the tenant.
struct Tenant {
    name: &'static str,
    cache: MemoryCache,
}

impl Tenant {
    #[cached(key = "tenant-user:{id}", cache = self.cache)]
    async fn user(&self, id: u32) -> String {
        tokio::time::sleep(Duration::from_millis(80)).await;
        format!("{} user {id}", self.name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_different_caches_do_not_share_a_load() {
    let acme = Tenant {
        name: "acme",
        cache: MemoryCache::new(),
    };
    let globex = Tenant {
        name: "globex",
        cache: MemoryCache::new(),
    };
    let (a, g) =
        crate::support::wait::bounded(Duration::from_secs(5), "two tenants' reads", async {
            tokio::join!(acme.user(1), globex.user(1))
        })
        .await;
    assert_eq!(a, "acme user 1");
    assert_eq!(g, "globex user 1", "globex got another cache's value");
    assert_eq!(
        globex.cache.get("tenant-user:1").await.unwrap().as_deref(),
        Some(r#""globex user 1""#),
        "globex's cache was filled"
    );
}

/// A record whose reads are cached and whose writes invalidate them.
struct Record {
    cache: Recording,
    value: Mutex<u32>,
}

impl Record {
    #[cached(key = "gated:record", cache = self.cache)]
    async fn read(&self) -> u32 {
        *self.value.lock().unwrap()
    }

    #[invalidate(key = "gated:record", cache = self.cache)]
    async fn write(&self, value: u32) {
        *self.value.lock().unwrap() = value;
    }
}

/// An invalidation that runs while a load's write is on its way (after the load checked
/// for invalidations, before its value landed) must still win: the load undoes its write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_during_a_loads_write_wins() {
    let record = Arc::new(Record {
        cache: Recording::default(),
        value: Mutex::new(1),
    });
    let (entered, release) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    *record.cache.set_gate.lock().unwrap() = Some((Arc::clone(&entered), Arc::clone(&release)));

    let load = tokio::spawn({
        let record = Arc::clone(&record);
        async move { record.read().await }
    });
    let bound = Duration::from_secs(5);
    tokio::time::timeout(bound, entered.notified())
        .await
        .expect("the load's write starting");
    record.write(2).await;
    release.notify_one();
    let loaded = tokio::time::timeout(bound, load)
        .await
        .expect("the load")
        .unwrap();
    assert_eq!(loaded, 1, "the load read before the write");
    assert_eq!(
        record.cache.inner.get("gated:record").await.unwrap(),
        None,
        "the older value does not outlive the invalidation"
    );
    assert_eq!(record.read().await, 2);
}

/// A record whose first read fails with an error that cannot be shared, so that a waiting
/// read runs the body on its own, outside any flight.
struct Flaky {
    cache: MemoryCache,
    value: Mutex<u32>,
    runs: AtomicUsize,
    first_entered: tokio::sync::Notify,
    first_go: tokio::sync::Notify,
    second_entered: tokio::sync::Notify,
    second_go: tokio::sync::Notify,
}

impl Flaky {
    #[cached(key = "flaky:record", cache = self.cache)]
    async fn read_flaky(&self) -> std::io::Result<u32> {
        let value = *self.value.lock().unwrap();
        if self.runs.fetch_add(1, Ordering::SeqCst) == 0 {
            self.first_entered.notify_one();
            self.first_go.notified().await;
            return Err(std::io::Error::other("the first read fails"));
        }
        self.second_entered.notify_one();
        self.second_go.notified().await;
        Ok(value)
    }

    #[invalidate(key = "flaky:record", cache = self.cache)]
    async fn write_flaky(&self, value: u32) {
        *self.value.lock().unwrap() = value;
    }
}

/// A waiter that loads on its own (its leader's `io::Error` cannot be shared) is not in any
/// flight; an invalidation during its load must still keep its older value out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_during_a_load_outside_a_flight_wins() {
    let flaky = Arc::new(Flaky {
        cache: MemoryCache::new(),
        value: Mutex::new(1),
        runs: AtomicUsize::new(0),
        first_entered: tokio::sync::Notify::new(),
        first_go: tokio::sync::Notify::new(),
        second_entered: tokio::sync::Notify::new(),
        second_go: tokio::sync::Notify::new(),
    });
    let bound = Duration::from_secs(5);
    let misses =
        || cache_aside::stats_for("attributes::caches::read_flaky").map_or(0, |stats| stats.misses);
    let leader = tokio::spawn({
        let flaky = Arc::clone(&flaky);
        async move { flaky.read_flaky().await.is_err() }
    });
    tokio::time::timeout(bound, flaky.first_entered.notified())
        .await
        .expect("the first read loading");
    let waiter = tokio::spawn({
        let flaky = Arc::clone(&flaky);
        async move { flaky.read_flaky().await.ok() }
    });
    crate::support::wait::eventually(bound, "the second read waiting", || async { misses() >= 2 })
        .await;

    flaky.first_go.notify_one();
    tokio::time::timeout(bound, flaky.second_entered.notified())
        .await
        .expect("the second read loading on its own");
    flaky.write_flaky(2).await;
    flaky.second_go.notify_one();

    assert!(
        tokio::time::timeout(bound, leader)
            .await
            .expect("the first read")
            .unwrap()
    );
    let second = tokio::time::timeout(bound, waiter)
        .await
        .expect("the second read");
    assert_eq!(
        second.unwrap(),
        Some(1),
        "the second read started before the write"
    );
    assert_eq!(
        flaky.cache.get("flaky:record").await.unwrap(),
        None,
        "the older value does not outlive the invalidation"
    );
}

#[cached(key = "tagged:{id}", tags = ["tag:{id}"], cache = cache)]
async fn tagged_read(cache: &Recording, id: u32) -> u32 {
    id
}

#[invalidate(tags = ["tag:{id}"], cache = cache)]
async fn tagged_write(cache: &Recording, id: u32) -> Result<u32, String> {
    Ok(id)
}

/// An adapter that implements only the required methods has no leases: `#[cached]` reads
/// and writes as plain cache-aside did, and a tag invalidation fails open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_without_leases_caches_as_before_and_tags_fail_open() {
    let cache = Recording::default();
    assert_eq!(tagged_read(&cache, 1).await, 1);
    assert_eq!(cache.take(), ["get tagged:1", "set tagged:1"]);
    assert_eq!(tagged_read(&cache, 1).await, 1);
    assert_eq!(cache.take(), ["get tagged:1"]);
    assert_eq!(
        tagged_write(&cache, 1).await,
        Ok(1),
        "the body's result, all the same"
    );
    let stats = cache_aside::stats_for("attributes::caches::tagged_write").expect("it ran");
    assert_eq!((stats.invalidations, stats.errors), (0, 1));
    assert_eq!(
        cache.inner.get("tagged:1").await.unwrap().as_deref(),
        Some("1")
    );
}
