//! Each `#[cached]` call is a span `cached` at `debug`, target `cache_aside`, with its
//! function, its outcome and its load's duration; its key only at `trace`.

use std::collections::HashMap;
use std::time::Duration;

use cache_aside::{MemoryCache, RedisCache, cached, get_or_load, stats_for};
use tokio::sync::Notify;
use tracing_subscriber::filter::LevelFilter;

use crate::alloc::allocations;
use crate::capture::Capture;
use crate::support::wait::{bounded, eventually};

const LIMIT: Duration = Duration::from_secs(10);

#[cached(key = "read:{id}", cache = cache)]
async fn read(cache: &MemoryCache, id: u32) -> u32 {
    id
}

#[tokio::test]
async fn a_miss_then_a_hit() {
    let (capture, _guard) = Capture::install(LevelFilter::DEBUG);
    let cache = MemoryCache::new();
    assert_eq!(read(&cache, 1).await, 1);
    assert_eq!(read(&cache, 1).await, 1);
    let spans = capture.of("observe::spans::read");
    assert_eq!(spans.len(), 2, "{spans:?}");
    let (miss, hit) = (&spans[0], &spans[1]);
    assert_eq!(
        (miss["level"].as_str(), miss["outcome"].as_str()),
        ("DEBUG", "miss")
    );
    let load: f64 = miss["load_seconds"].parse().unwrap();
    assert!((0.0..10.0).contains(&load), "{load}");
    assert_eq!(hit["outcome"], "hit");
    assert!(
        !hit.contains_key("load_seconds"),
        "a hit loads nothing: {hit:?}"
    );
    assert!(
        !miss.contains_key("key") && !hit.contains_key("key"),
        "keys only at trace: {spans:?}"
    );
}

#[tokio::test]
async fn the_key_is_recorded_at_trace() {
    let (capture, _guard) = Capture::install(LevelFilter::TRACE);
    let cache = MemoryCache::new();
    read(&cache, 2).await;
    let spans = capture.of("observe::spans::read");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0]["key"], "read:2");
}

#[cached(key = "slow", cache = cache)]
async fn slow(cache: &MemoryCache, release: &Notify) -> u32 {
    release.notified().await;
    7
}

#[tokio::test]
async fn a_call_that_joins_another_load_is_coalesced() {
    let (capture, _guard) = Capture::install(LevelFilter::DEBUG);
    let cache = MemoryCache::new();
    let release = Notify::new();
    let misses = || stats_for("observe::spans::slow").map_or(0, |s| s.misses);
    // One task: the leader is polled first and waits in its body; the second call joins its
    // flight (a miss, counted once it waits); then the leader is released.
    let (leader, waiter, ()) = bounded(LIMIT, "the two calls", async {
        tokio::join!(slow(&cache, &release), slow(&cache, &release), async {
            eventually(LIMIT, "the waiter in place", || async { misses() >= 2 }).await;
            release.notify_one();
        })
    })
    .await;
    assert_eq!((leader, waiter), (7, 7));
    let spans = capture.of("observe::spans::slow");
    assert_eq!(
        capture.outcomes("observe::spans::slow"),
        ["coalesced", "miss"]
    );
    for span in spans {
        assert_eq!(
            span.contains_key("load_seconds"),
            span["outcome"] == "miss",
            "only the leader loaded: {span:?}"
        );
    }
}

/// A map with non-string keys cannot be JSON: the store fails, after the load.
#[cached(key = "unencodable", cache = cache)]
async fn unencodable(cache: &MemoryCache) -> HashMap<(u8, u8), u8> {
    HashMap::from([((1, 2), 3)])
}

#[cached(key = "failing", cache = cache)]
async fn failing(cache: &MemoryCache) -> Result<u32, String> {
    Err("the database is down".into())
}

#[cached(key = "skipped", cache = cache, condition = use_cache)]
async fn skipped(cache: &MemoryCache, use_cache: bool) -> u32 {
    3
}

#[tokio::test]
async fn a_cache_error_is_an_error_a_body_error_a_miss_and_a_false_condition_bypasses() {
    let (capture, _guard) = Capture::install(LevelFilter::DEBUG);
    let cache = MemoryCache::new();
    unencodable(&cache).await;
    assert_eq!(capture.outcomes("observe::spans::unencodable"), ["error"]);
    // The outcome is the cache's part: the body's `Err` is the caller's to see.
    failing(&cache).await.unwrap_err();
    assert_eq!(capture.outcomes("observe::spans::failing"), ["miss"]);
    skipped(&cache, false).await;
    let spans = capture.of("observe::spans::skipped");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0]["outcome"], "bypassed");
    assert!(spans[0].contains_key("load_seconds"), "the body ran");
}

#[cached(key = "remote", cache = cache)]
async fn remote(cache: &RedisCache) -> u32 {
    5
}

#[tokio::test]
async fn an_unreachable_cache_is_an_error_then_bypassed_once_its_breaker_is_open() {
    let (_stopped, cache) = crate::unreachable_cache();
    let (capture, _guard) = Capture::install(LevelFilter::DEBUG);
    assert_eq!(bounded(LIMIT, "the first call", remote(&cache)).await, 5);
    assert_eq!(bounded(LIMIT, "the second call", remote(&cache)).await, 5);
    let outcomes: Vec<String> = capture
        .of("observe::spans::remote")
        .into_iter()
        .map(|span| span["outcome"].clone())
        .collect();
    assert_eq!(outcomes, ["error", "bypassed"]);
}

#[cached(key = "lean:{id}", cache = cache)]
async fn lean(cache: &MemoryCache, id: u32) -> u32 {
    id
}

/// The allocations of `calls` hits through `#[cached]` and by hand with `get_or_load`.
async fn hit_allocations(cache: &MemoryCache, calls: u64) -> (u64, u64) {
    let before = allocations();
    for _ in 0..calls {
        assert_eq!(lean(cache, 1).await, 1);
    }
    let attribute = allocations() - before;
    let before = allocations();
    for _ in 0..calls {
        let key = format!("lean:{}", 1);
        let hit = get_or_load(cache, &key, None, || async { Ok::<u32, String>(0) }).await;
        assert_eq!(hit, Ok(1));
    }
    (attribute, allocations() - before)
}

#[tokio::test]
async fn a_disabled_span_costs_a_hit_no_allocation() {
    const CALLS: u64 = 1000;
    let cache = MemoryCache::new();
    assert_eq!(lean(&cache, 1).await, 1);
    {
        let (_capture, _guard) = Capture::install(LevelFilter::INFO);
        hit_allocations(&cache, 1).await; // the callsites' first look at this subscriber
        let (attribute, by_hand) = hit_allocations(&cache, CALLS).await;
        // Both allocate the key and the value read; the memory cache's housekeeping adds one
        // now and then, to either side.
        assert!(
            attribute.abs_diff(by_hand) <= CALLS / 100,
            "a hit through #[cached] allocates as much as one by hand: {attribute} vs {by_hand}"
        );
    }
    // And the count would see a span: enabled, it is allocated (in the registry's slab,
    // with its fields in the capture).
    let (_capture, _guard) = Capture::install(LevelFilter::DEBUG);
    hit_allocations(&cache, 1).await;
    let (attribute, by_hand) = hit_allocations(&cache, CALLS).await;
    assert!(
        attribute >= by_hand + CALLS,
        "an enabled span allocates: {attribute} vs {by_hand}"
    );
}
