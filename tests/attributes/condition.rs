//! `condition = ...`: false bypasses the cache entirely, true caches as usual.

use std::sync::atomic::{AtomicUsize, Ordering};

use cache_aside::{SharedCache, cached};

use crate::support::backend::Backend;

#[cached(key = "{ns}:search:{query}", cache = cache, condition = query.len() > 2)]
async fn search(cache: &SharedCache, calls: &AtomicUsize, ns: &str, query: &str) -> String {
    let run = calls.fetch_add(1, Ordering::SeqCst) + 1;
    format!("{query}#{run}")
}

pub async fn condition_decides_whether_the_cache_is_used(b: Backend) {
    let calls = AtomicUsize::new(0);
    // Nothing is stored, and the body runs every time.
    assert_eq!(search(&b.cache, &calls, &b.ns, "ab").await, "ab#1");
    assert_eq!(search(&b.cache, &calls, &b.ns, "ab").await, "ab#2");
    assert_eq!(b.stored(&b.key("search:ab")).await, None);

    // Nothing is read either: a value already at the key is neither returned nor replaced.
    b.seed(&b.key("search:xy"), r#""seeded""#).await;
    assert_eq!(search(&b.cache, &calls, &b.ns, "xy").await, "xy#3");
    assert_eq!(
        b.stored(&b.key("search:xy")).await.as_deref(),
        Some(r#""seeded""#)
    );
    assert_eq!(b.pttl(&b.key("search:xy")).await, -1);

    // True: cached as usual.
    let calls = AtomicUsize::new(0);
    assert_eq!(search(&b.cache, &calls, &b.ns, "long").await, "long#1");
    assert_eq!(
        b.stored(&b.key("search:long")).await.as_deref(),
        Some(r##""long#1""##)
    );
    assert_eq!(search(&b.cache, &calls, &b.ns, "long").await, "long#1");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A value already there is a hit.
    b.seed(&b.key("search:seeded"), r#""from the store""#).await;
    assert_eq!(
        search(&b.cache, &calls, &b.ns, "seeded").await,
        "from the store"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
