//! Every counter of `stats()` is also a `metrics` counter labelled `function`, and each load
//! a sample of `cache_aside_load_duration_seconds`.

use std::collections::HashMap;

use cache_aside::{MemoryCache, cached, invalidate, stats_for};
use metrics::Unit;

use crate::recorder::recording;

/// The metrics counters of `function`, in the order of `FunctionStats`'s fields.
fn emitted(function: &str) -> [u64; 9] {
    [
        "hits",
        "misses",
        "loads",
        "coalesced",
        "errors",
        "invalidations",
        "bypassed",
        "oversized",
        "overtaken",
    ]
    .map(|counter| {
        recording().counter(
            &format!("cache_aside_{counter}_total"),
            ("function", function),
        )
    })
}

/// The same counters as `stats_for` reads them.
fn counted(function: &str) -> [u64; 9] {
    stats_for(function).map_or([0; 9], |s| {
        [
            s.hits,
            s.misses,
            s.loads,
            s.coalesced,
            s.errors,
            s.invalidations,
            s.bypassed,
            s.oversized,
            s.overtaken,
        ]
    })
}

#[cached(key = "read:{id}", cache = cache)]
async fn read(cache: &MemoryCache, id: u32) -> u32 {
    id
}

#[invalidate(key = "read:{id}", cache = cache)]
async fn forget(cache: &MemoryCache, id: u32) {}

/// A map with non-string keys cannot be JSON: an encode error.
#[cached(key = "unencodable", cache = cache)]
async fn unencodable(cache: &MemoryCache) -> HashMap<(u8, u8), u8> {
    HashMap::from([((1, 2), 3)])
}

#[tokio::test]
async fn a_hit_a_miss_an_error_and_an_invalidation_move_their_counters() {
    let recording = recording();
    let cache = MemoryCache::new();
    read(&cache, 1).await;
    read(&cache, 1).await;
    let function = "metrics::counters::read";
    //                            [hits, misses, loads, coalesced, errors, invalidations, ..]
    assert_eq!(emitted(function), [1, 1, 1, 0, 0, 0, 0, 0, 0]);
    let loads = recording.histogram("cache_aside_load_duration_seconds", ("function", function));
    assert_eq!(loads.len(), 1, "one load, one sample: {loads:?}");
    assert!((0.0..10.0).contains(&loads[0]), "{loads:?}");

    unencodable(&cache).await;
    assert_eq!(
        emitted("metrics::counters::unencodable"),
        [0, 1, 1, 0, 1, 0, 0, 0, 0]
    );

    forget(&cache, 1).await;
    assert_eq!(
        emitted("metrics::counters::forget"),
        [0, 0, 1, 0, 0, 1, 0, 0, 0]
    );
    for function in [
        "metrics::counters::read",
        "metrics::counters::unencodable",
        "metrics::counters::forget",
    ] {
        assert_eq!(emitted(function), counted(function), "{function}");
    }
    assert_eq!(
        recording.unit("cache_aside_load_duration_seconds"),
        Some(Some(Unit::Seconds)),
        "described"
    );
    assert_eq!(
        recording.unit("cache_aside_hits_total"),
        Some(Some(Unit::Count))
    );
}

struct Users(MemoryCache);
struct Orders(MemoryCache);

impl Users {
    #[cached(key = "user", cache = self.0)]
    async fn get(&self) -> u32 {
        1
    }
}

impl Orders {
    #[cached(key = "order", cache = self.0)]
    async fn get(&self) -> u32 {
        2
    }
}

#[tokio::test]
async fn methods_of_one_name_are_labelled_with_their_type() {
    recording();
    let (users, orders) = (Users(MemoryCache::new()), Orders(MemoryCache::new()));
    users.get().await;
    users.get().await;
    orders.get().await;
    assert_eq!(emitted("metrics::counters::Users::get")[..3], [1, 1, 1]);
    assert_eq!(emitted("metrics::counters::Orders::get")[..3], [0, 1, 1]);
    assert_eq!(
        emitted("metrics::counters::get"),
        [0; 9],
        "no label without the type"
    );
}
