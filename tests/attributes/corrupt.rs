//! Stored values that do not decode as the return type: corrupt bytes, JSON of another type
//! (after a deploy), and on Redis bytes that are not UTF-8 and other Redis types
//! (`WRONGTYPE`). Each is a miss: the body runs, its value is returned and overwrites the bad
//! one with the TTL of the write, and the next call is a hit. Each is counted as an error, and
//! none counts against the breaker, even with a threshold of one.

use std::sync::atomic::{AtomicUsize, Ordering};

use cache_aside::prelude::*;
use cache_aside::{BreakerState, SharedCache, cached, stats_for};
use serde::{Deserialize, Serialize};

use crate::support::backend::Backend;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[cached(key = "{ns}:point:{id}", ttl = 600, cache = cache)]
async fn point(cache: &SharedCache, calls: &AtomicUsize, ns: &str, id: i32) -> Point {
    calls.fetch_add(1, Ordering::SeqCst);
    Point { x: id, y: -id }
}

/// Errors counted by `point`, on both backends (their copies of the test run at once, so
/// only a lower bound is checked).
fn errors() -> u64 {
    stats_for(concat!(module_path!(), "::point")).map_or(0, |stats| stats.errors)
}

/// Text that is not a `Point`: broken JSON, and JSON of other types.
const NOT_A_POINT: &[&str] = &[
    "not json",
    "",
    r#"{"x":1"#,
    r#""a string""#,
    r#"{"x":"one","y":2}"#,
    r#"{"x":1,"y":2} trailing"#,
    "[1]",
    "[1,2,3]",
    r#"{"id":"four","name":4}"#,
    "null",
];

/// Run with a breaker threshold of one (`failure_threshold(1)`).
pub async fn undecodable_values_are_misses_and_overwritten(b: Backend) {
    let calls = AtomicUsize::new(0);
    let errors_before = errors();
    let mut bad: Vec<String> = Vec::new();
    for (id, raw) in (1..).zip(NOT_A_POINT) {
        b.seed(&b.key(&format!("point:{id}")), raw).await;
        bad.push(format!("{raw:?}"));
    }
    if let Some(raw) = b.raw() {
        let id = bad.len() + 1;
        // Not UTF-8.
        raw.set(
            &b.key(&format!("point:{id}")),
            &[0xff_u8, 0xfe, 0x00, 0x80][..],
        );
        // Other Redis types: GET answers WRONGTYPE.
        raw.query::<i64>(
            redis::cmd("RPUSH")
                .arg(b.key(&format!("point:{}", id + 1)))
                .arg("a")
                .arg("b"),
        );
        raw.query::<i64>(
            redis::cmd("HSET")
                .arg(b.key(&format!("point:{}", id + 2)))
                .arg("x")
                .arg("1"),
        );
        raw.query::<i64>(
            redis::cmd("SADD")
                .arg(b.key(&format!("point:{}", id + 3)))
                .arg("x"),
        );
        bad.extend(["bytes that are not UTF-8", "a list", "a hash", "a set"].map(String::from));
    }
    for (id, raw) in (1..).zip(&bad) {
        let key = b.key(&format!("point:{id}"));
        assert_eq!(
            point(&b.cache, &calls, &b.ns, id).await,
            Point { x: id, y: -id },
            "{raw} is a miss"
        );
        assert_eq!(calls.load(Ordering::SeqCst), usize::try_from(id).unwrap());
        if let Some(raw_connection) = b.raw() {
            let kind: String = raw_connection.query(redis::cmd("TYPE").arg(&key));
            assert_eq!(kind, "string", "{key}: SET replaced {raw}");
        }
        assert_eq!(
            b.stored(&key).await,
            Some(format!(r#"{{"x":{id},"y":{}}}"#, -id)),
            "{raw} was overwritten"
        );
        let pttl = b.pttl(&key).await;
        assert!((590_000..=600_000).contains(&pttl), "PTTL {pttl}");
        // And now it is a hit.
        assert_eq!(point(&b.cache, &calls, &b.ns, id).await.x, id);
        assert_eq!(calls.load(Ordering::SeqCst), usize::try_from(id).unwrap());
    }
    assert!(
        errors() >= errors_before + u64::try_from(bad.len()).unwrap(),
        "each bad value was counted"
    );
    let health = b.cache.health();
    assert_eq!(health.state, BreakerState::Closed, "{health:?}");
    assert_eq!(health.consecutive_failures, 0, "{health:?}");
    assert_eq!(health.times_opened, 0, "{health:?}");
}
