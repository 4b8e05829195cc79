//! Stored values that do not decode: a miss, the body runs, and its value overwrites them.

use std::sync::atomic::{AtomicUsize, Ordering};

use cache_aside::{SharedCache, cached};
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

pub async fn undecodable_values_are_misses_and_overwritten(b: Backend) {
    let calls = AtomicUsize::new(0);
    let bad = [
        "not json",
        "",
        r#"{"x":1"#,
        r#""a string""#,
        r#"{"x":"one","y":2}"#,
        r#"{"x":1,"y":2} trailing"#,
        "[1]",
        "null",
    ];
    for (id, raw) in (1..).zip(bad) {
        let key = b.key(&format!("point:{id}"));
        b.seed(&key, raw).await;
        assert_eq!(
            point(&b.cache, &calls, &b.ns, id).await,
            Point { x: id, y: -id },
            "{raw:?} is a miss"
        );
        assert_eq!(calls.load(Ordering::SeqCst), usize::try_from(id).unwrap());
        assert_eq!(
            b.stored(&key).await,
            Some(format!(r#"{{"x":{id},"y":{}}}"#, -id)),
            "{raw:?} was overwritten"
        );
        let pttl = b.pttl(&key).await;
        assert!((590_000..=600_000).contains(&pttl), "PTTL {pttl}");
        // And now it is a hit.
        assert_eq!(point(&b.cache, &calls, &b.ns, id).await.x, id);
        assert_eq!(calls.load(Ordering::SeqCst), usize::try_from(id).unwrap());
    }
}
