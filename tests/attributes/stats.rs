//! `stats()` and `stats_for()`. Each test has functions of its own, so that tests running
//! in parallel cannot move its counters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{FunctionStats, MemoryCache, cache_put, cached, invalidate, stats, stats_for};

use crate::support::wait::bounded;

/// The counters of `attributes::stats::{name}`, as `[hits, misses, loads, coalesced,
/// errors, invalidations]`; all zero before its first call.
fn counters(name: &str) -> [u64; 6] {
    stats_for(&format!("attributes::stats::{name}")).map_or([0; 6], |s| {
        [
            s.hits,
            s.misses,
            s.loads,
            s.coalesced,
            s.errors,
            s.invalidations,
        ]
    })
}

#[cached(key = "counted:{id}", cache = cache, condition = id > 0)]
async fn counted(cache: &MemoryCache, id: i32) -> Result<i32, String> {
    if id == 13 {
        return Err("unlucky".into());
    }
    Ok(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_misses_and_loads_are_counted() {
    let cache = MemoryCache::new();
    assert_eq!(counters("counted"), [0; 6], "never called yet");
    counted(&cache, 1).await.unwrap();
    //                          [hits, misses, loads, coalesced, errors, invalidations]
    assert_eq!(
        counters("counted"),
        [0, 1, 1, 0, 0, 0],
        "a miss that loaded"
    );
    counted(&cache, 1).await.unwrap();
    counted(&cache, 1).await.unwrap();
    assert_eq!(counters("counted"), [2, 1, 1, 0, 0, 0], "two hits");
    counted(&cache, 13).await.unwrap_err();
    counted(&cache, 13).await.unwrap_err();
    assert_eq!(
        counters("counted"),
        [2, 3, 3, 0, 0, 0],
        "an Err is a miss every time"
    );
    counted(&cache, -1).await.unwrap();
    assert_eq!(
        counters("counted"),
        [2, 3, 4, 0, 0, 0],
        "a false condition loads without a miss"
    );
}

#[cached(key = "crowd", cache = cache)]
async fn crowded(cache: Arc<MemoryCache>) -> u32 {
    tokio::time::sleep(Duration::from_millis(80)).await;
    7
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalesced_waits_are_counted() {
    const CALLERS: u64 = 20;
    let cache = Arc::new(MemoryCache::new());
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| tokio::spawn(crowded(Arc::clone(&cache))))
        .collect();
    bounded(Duration::from_secs(5), "the callers", async {
        for task in tasks {
            assert_eq!(task.await.unwrap(), 7);
        }
    })
    .await;
    let [hits, misses, loads, coalesced, errors, _] = counters("crowded");
    assert_eq!(loads, 1);
    assert_eq!(errors, 0);
    // Every other caller either waited for the load or (arriving late) read its value.
    assert_eq!(
        coalesced + hits,
        CALLERS - 1,
        "coalesced {coalesced}, hits {hits}"
    );
    assert!(coalesced > 0, "with a slow body, callers pile up");
    assert!(misses >= loads + coalesced, "misses {misses}");
}

#[cached(key = "undecodable", cache = cache)]
async fn undecodable(cache: &MemoryCache) -> Vec<u32> {
    vec![1]
}

/// A map with non-string keys cannot be JSON.
#[cached(key = "unencodable", cache = cache)]
async fn unencodable(cache: &MemoryCache) -> HashMap<(u8, u8), u8> {
    HashMap::from([((1, 2), 3)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decode_and_encode_failures_are_errors() {
    let cache = MemoryCache::new();
    cache.set("undecodable", "{oops", None).await.unwrap();
    assert_eq!(undecodable(&cache).await, [1]);
    let [hits, misses, loads, _, errors, _] = counters("undecodable");
    assert_eq!((hits, misses, loads), (0, 1, 1));
    assert!(errors >= 1, "the undecodable value was counted: {errors}");
    assert_eq!(
        cache.get("undecodable").await.unwrap().as_deref(),
        Some("[1]")
    );

    assert_eq!(unencodable(&cache).await, HashMap::from([((1, 2), 3)]));
    assert_eq!(unencodable(&cache).await, HashMap::from([((1, 2), 3)]));
    assert_eq!(
        counters("unencodable"),
        [0, 2, 2, 0, 2, 0],
        "one error per call"
    );
    assert_eq!(cache.get("unencodable").await.unwrap(), None);
}

#[invalidate(key = "inv:{id}", pattern = "inv:{id}:*", key = "inv:all", cache = cache)]
async fn invalidating(cache: &MemoryCache, id: u32, ok: bool) -> Result<(), ()> {
    if ok { Ok(()) } else { Err(()) }
}

#[cache_put(key = "put:{id}", cache = cache)]
async fn putting(cache: &MemoryCache, id: u32) -> Option<u32> {
    (id > 0).then_some(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidations_and_puts_are_counted() {
    let cache = MemoryCache::new();
    cache.set("inv:1", "1", None).await.unwrap();
    invalidating(&cache, 1, true).await.unwrap();
    // Every target that was deleted without error counts, whether or not a key was there.
    assert_eq!(counters("invalidating"), [0, 0, 1, 0, 0, 3]);
    invalidating(&cache, 2, true).await.unwrap();
    assert_eq!(counters("invalidating"), [0, 0, 2, 0, 0, 6]);

    putting(&cache, 1).await;
    putting(&cache, 0).await;
    assert_eq!(
        counters("putting"),
        [0, 0, 2, 0, 0, 0],
        "every put is a load"
    );
}

#[invalidate(key = "failing:{id}", cache = cache)]
async fn failing_invalidation(cache: &MemoryCache, id: u32) -> Result<(), ()> {
    Err(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidate_call_with_an_err_body_is_a_load() {
    let cache = MemoryCache::new();
    failing_invalidation(&cache, 1).await.unwrap_err();
    let stats = stats_for("attributes::stats::failing_invalidation");
    assert_eq!(
        stats.map(|s| (s.loads, s.invalidations)),
        Some((1, 0)),
        "the body ran once and nothing was deleted"
    );
}

#[cached(key = "listed", cache = cache)]
async fn listed(cache: &MemoryCache) -> u8 {
    1
}

#[cached(key = "never-polled", cache = cache)]
async fn never_polled(cache: &MemoryCache) -> u8 {
    2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_lists_the_functions_that_ran() {
    let cache = MemoryCache::new();
    // A future that is never polled has not called the function.
    drop(never_polled(&cache));
    listed(&cache).await;
    let all: Vec<FunctionStats> = stats();
    let names: Vec<&str> = all.iter().map(|s| s.function).collect();
    assert!(names.contains(&"attributes::stats::listed"), "{names:?}");
    assert!(
        !names.contains(&"attributes::stats::never_polled"),
        "{names:?}"
    );
    assert_eq!(stats_for("attributes::stats::never_polled"), None);
    assert_eq!(stats_for("attributes::stats::no_such_function"), None);
    let listed = all
        .iter()
        .find(|s| s.function == "attributes::stats::listed")
        .unwrap();
    assert_eq!((listed.misses, listed.loads), (1, 1));
}

/// Two types with a method of the same name in one module.
struct Left(MemoryCache);
struct Right(MemoryCache);

impl Left {
    #[cached(key = "left", cache = self.0)]
    async fn same_name(&self) -> u8 {
        1
    }
}

impl Right {
    #[cached(key = "right", cache = self.0)]
    async fn same_name(&self) -> u8 {
        2
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_are_named_with_their_type_and_summed_under_the_plain_name() {
    let (left, right) = (Left(MemoryCache::new()), Right(MemoryCache::new()));
    assert_eq!(left.same_name().await, 1);
    assert_eq!(left.same_name().await, 1);
    assert_eq!(right.same_name().await, 2);
    let mut listed: Vec<&str> = stats()
        .iter()
        .map(|s| s.function)
        .filter(|name| name.ends_with("same_name"))
        .collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "attributes::stats::Left::same_name",
            "attributes::stats::Right::same_name"
        ],
        "stats() lists each method under its type"
    );
    let left = stats_for("attributes::stats::Left::same_name").unwrap();
    assert_eq!((left.hits, left.misses, left.loads), (1, 1, 1));
    let right = stats_for("attributes::stats::Right::same_name").unwrap();
    assert_eq!((right.hits, right.misses, right.loads), (0, 1, 1));
    let same = stats_for("attributes::stats::same_name").unwrap();
    assert_eq!(same.function, "attributes::stats::same_name");
    assert_eq!((same.hits, same.misses, same.loads), (1, 2, 2), "summed");
}

/// Two types with an associated function (no receiver) of the same name in one module.
struct Users;
struct Orders;

impl Users {
    #[cached(key = "users:{id}", cache = cache)]
    async fn find(cache: &MemoryCache, id: u32) -> u32 {
        id
    }
}

impl Orders {
    #[cached(key = "orders:{id}", cache = cache)]
    async fn find(cache: &MemoryCache, id: u32) -> u32 {
        id + 100
    }
}

/// A generic type: one site for every instantiation, named without its type arguments.
struct Repository<T>(MemoryCache, T);

impl<T: Send + Sync> Repository<T> {
    #[cached(key = "repository", cache = self.0)]
    async fn generic_get(&self) -> u8 {
        3
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_without_a_receiver_are_told_apart_by_their_line() {
    let cache = MemoryCache::new();
    assert_eq!(Users::find(&cache, 1).await, 1);
    assert_eq!(Orders::find(&cache, 1).await, 101);
    assert_eq!(Orders::find(&cache, 1).await, 101);
    let listed: Vec<&str> = stats()
        .iter()
        .map(|s| s.function)
        .filter(|name| name.starts_with("attributes::stats::find"))
        .collect();
    assert_eq!(listed.len(), 2, "two rows: {listed:?}");
    assert_eq!(
        listed[0], "attributes::stats::find",
        "the first called keeps it"
    );
    let line = listed[1]
        .strip_prefix("attributes::stats::find@")
        .and_then(|line| line.parse::<u32>().ok());
    assert!(line.is_some_and(|line| line > 0), "{listed:?}");
    let orders = stats_for(listed[1]).unwrap();
    assert_eq!((orders.hits, orders.misses), (1, 1));
    let both = stats_for("attributes::stats::find").unwrap();
    assert_eq!((both.hits, both.misses), (1, 2), "the plain name sums both");

    let (one, two) = (
        Repository(MemoryCache::new(), 1u8),
        Repository(MemoryCache::new(), "two"),
    );
    assert_eq!(one.generic_get().await, 3);
    assert_eq!(two.generic_get().await, 3);
    let generic = stats_for("attributes::stats::Repository::generic_get").unwrap();
    assert_eq!(generic.misses, 2, "one site for both instantiations");
}

#[cached(key = "shared-site:{n}", cache = cache)]
async fn calls_counted(cache: &MemoryCache, runs: &AtomicUsize, n: u8) -> u8 {
    runs.fetch_add(1, Ordering::SeqCst);
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_match_body_runs() {
    let cache = MemoryCache::new();
    let runs = AtomicUsize::new(0);
    for n in [1, 2, 1, 3, 2, 1] {
        assert_eq!(calls_counted(&cache, &runs, n).await, n);
    }
    let [hits, misses, loads, ..] = counters("calls_counted");
    assert_eq!(loads, runs.load(Ordering::SeqCst) as u64);
    assert_eq!((hits, misses, loads), (3, 3, 3));
}

#[cached(key = "zero-ttl", ttl = Duration::from_millis(millis), cache = cache)]
async fn zero_ttl(cache: &MemoryCache, runs: &AtomicUsize, millis: u64) -> u8 {
    runs.fetch_add(1, Ordering::SeqCst);
    5
}

/// A `Duration` expression that comes out as zero at run time means "do not store this
/// one", as a `ttl = |value| ...` closure's zero does: nothing is sent, and it is no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_ttl_at_run_time_is_not_stored() {
    let cache = MemoryCache::new();
    let runs = AtomicUsize::new(0);
    assert_eq!(zero_ttl(&cache, &runs, 0).await, 5);
    assert_eq!(zero_ttl(&cache, &runs, 0).await, 5);
    assert_eq!(runs.load(Ordering::SeqCst), 2, "nothing was stored");
    assert_eq!(cache.get("zero-ttl").await.unwrap(), None);
    assert_eq!(
        counters("zero_ttl"),
        [0, 2, 2, 0, 0, 0],
        "no write was refused: none was sent"
    );
    // A positive TTL stores.
    assert_eq!(zero_ttl(&cache, &runs, 5_000).await, 5);
    assert_eq!(cache.get("zero-ttl").await.unwrap().as_deref(), Some("5"));
}

#[cached(key = "corrupt-once", cache = cache)]
async fn corrupt_once(cache: &MemoryCache) -> Vec<u32> {
    vec![2]
}

/// The brief and the docs: a cache error is "logged once per call" and counted; `errors`
/// is documented as failed operations, "each one is also logged".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_undecodable_value_is_one_error() {
    let cache = MemoryCache::new();
    cache.set("corrupt-once", "{oops", None).await.unwrap();
    assert_eq!(corrupt_once(&cache).await, [2]);
    let [_, misses, loads, _, errors, _] = counters("corrupt_once");
    assert_eq!((misses, loads, errors), (1, 1, 1));
}
