//! `stats()` and `health()` as data: they serialize as JSON and print on a line each.

use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{BreakerState, MemoryCache, cached, invalidate, stats, stats_for};

use crate::support::wait::bounded;

#[cached(key = "shown:{id}", cache = cache)]
async fn shown(cache: &MemoryCache, id: u32) -> u32 {
    id
}

#[invalidate(key = "shown:{id}", cache = cache)]
async fn forget(cache: &MemoryCache, id: u32) {}

#[tokio::test]
async fn function_stats_serialize_and_print() {
    let cache = MemoryCache::new();
    shown(&cache, 1).await;
    shown(&cache, 1).await;
    forget(&cache, 1).await;
    let stats = stats_for("observe::data::shown").unwrap();
    assert_eq!(
        stats.to_string(),
        "observe::data::shown: 1 hits, 1 misses, 1 loads"
    );
    let forgotten = stats_for("observe::data::forget").unwrap();
    assert_eq!(
        forgotten.to_string(),
        "observe::data::forget: 0 hits, 0 misses, 1 loads, 1 invalidations",
        "counters that are not zero follow"
    );
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "function": "observe::data::shown",
            "hits": 1, "misses": 1, "loads": 1, "coalesced": 0, "errors": 0,
            "invalidations": 0, "bypassed": 0, "oversized": 0, "overtaken": 0,
        })
    );
    let all = serde_json::to_value(stats_of_this_module()).unwrap();
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
}

fn stats_of_this_module() -> Vec<cache_aside::FunctionStats> {
    stats()
        .into_iter()
        .filter(|s| s.function.starts_with("observe::data::"))
        .collect()
}

#[test]
fn breaker_states_have_one_name_each() {
    let states = [
        BreakerState::Closed,
        BreakerState::HalfOpen,
        BreakerState::Open,
    ];
    let names: Vec<&str> = states.iter().map(|state| state.as_str()).collect();
    assert_eq!(names, ["closed", "half_open", "open"]);
    for state in states {
        assert_eq!(state.to_string(), state.as_str());
        assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
    }
    assert_eq!(
        format!("[{:>6}]", BreakerState::Open),
        "[  open]",
        "it pads"
    );
}

#[test]
fn health_serializes_and_prints() {
    let health = MemoryCache::new().health();
    assert_eq!(
        health.to_string(),
        "breaker closed, 0 failures in a row, opened 0 times, 0 rejected; \
         invalidations: 0 pending, 0 replayed, 0 dropped"
    );
    assert_eq!(
        serde_json::to_value(&health).unwrap(),
        serde_json::json!({
            "state": "closed", "consecutive_failures": 0, "times_opened": 0, "rejected": 0,
            "pending_invalidations": 0, "replayed_invalidations": 0, "dropped_invalidations": 0,
        })
    );
}

#[tokio::test]
async fn an_open_breaker_shows_in_health() {
    let (_stopped, cache) = crate::unreachable_cache();
    let read = bounded(Duration::from_secs(10), "a read", cache.get("k")).await;
    assert!(read.is_err());
    let health = cache.health();
    assert!(
        health
            .to_string()
            .starts_with("breaker open, 1 failures in a row, opened 1 times"),
        "{health}"
    );
    assert_eq!(serde_json::to_value(&health).unwrap()["state"], "open");
}
