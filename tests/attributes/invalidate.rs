//! `#[invalidate]`: keys and patterns deleted after a successful body, values glob-escaped.

use std::sync::atomic::{AtomicUsize, Ordering};

use cache_aside::prelude::*;
use cache_aside::{MemoryCache, SharedCache, cached, invalidate};

use crate::support::backend::Backend;

#[cached(key = "{ns}:profile:{id}", cache = cache)]
async fn profile(cache: &SharedCache, calls: &AtomicUsize, ns: &str, id: u32) -> String {
    let run = calls.fetch_add(1, Ordering::SeqCst) + 1;
    format!("profile {id} v{run}")
}

/// Returns whether the cached profile was still there while the body ran.
#[invalidate(key = "{ns}:profile:{id}", cache = cache)]
async fn update_profile(
    cache: &SharedCache,
    ns: &str,
    id: u32,
    fail: bool,
) -> Result<bool, String> {
    let present = cache.exists(&format!("{ns}:profile:{id}")).await.unwrap();
    if fail {
        return Err("update refused".into());
    }
    Ok(present)
}

/// Not a `Result`: invalidates whatever it returns.
#[invalidate(key = "{ns}:profile:{id}", cache = cache)]
async fn maybe_delete_profile(cache: &SharedCache, ns: &str, id: u32) -> Option<u32> {
    None
}

pub async fn a_key_is_deleted_after_a_successful_body_only(b: Backend) {
    let calls = AtomicUsize::new(0);
    assert_eq!(profile(&b.cache, &calls, &b.ns, 1).await, "profile 1 v1");
    assert_eq!(profile(&b.cache, &calls, &b.ns, 1).await, "profile 1 v1");
    assert_eq!(profile(&b.cache, &calls, &b.ns, 2).await, "profile 2 v2");
    let key = b.key("profile:1");

    // An Err: nothing is deleted.
    assert_eq!(
        update_profile(&b.cache, &b.ns, 1, true).await,
        Err("update refused".to_owned())
    );
    assert_eq!(b.stored(&key).await.as_deref(), Some(r#""profile 1 v1""#));

    // Ok: deleted, after the body (which still saw the entry).
    assert_eq!(update_profile(&b.cache, &b.ns, 1, false).await, Ok(true));
    assert_eq!(b.stored(&key).await, None);
    assert!(
        b.stored(&b.key("profile:2")).await.is_some(),
        "other keys stay"
    );
    // The next read loads again.
    assert_eq!(profile(&b.cache, &calls, &b.ns, 1).await, "profile 1 v3");
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // Any other return kind always invalidates, even a `None`.
    assert_eq!(maybe_delete_profile(&b.cache, &b.ns, 1).await, None);
    assert_eq!(b.stored(&key).await, None);
}

#[invalidate(key = "{ns}:a:{id}", pattern = "{ns}:b:{id}:*", key = "{ns}:c", cache = cache)]
async fn several(cache: &SharedCache, ns: &str, id: u32) -> u32 {
    id
}

pub async fn patterns_and_several_targets(b: Backend) {
    let deleted = ["a:1", "b:1:x", "b:1:y", "b:1:", "c"];
    let kept = ["a:2", "a:10", "b:10:x", "b:1", "b:2:x", "c:1", "cc"];
    for key in deleted.iter().chain(&kept) {
        b.seed(&b.key(key), "1").await;
    }
    assert_eq!(several(&b.cache, &b.ns, 1).await, 1);
    for key in deleted {
        assert_eq!(b.stored(&b.key(key)).await, None, "{key} must be deleted");
    }
    for key in kept {
        assert!(b.stored(&b.key(key)).await.is_some(), "{key} must stay");
    }
}

/// Two stacked attributes, the second on another cache.
#[invalidate(key = "{ns}:first:{id}", cache = cache)]
#[invalidate(pattern = "{ns}:second:*", key = "{ns}:third", cache = other)]
async fn stacked(
    cache: &SharedCache,
    other: &MemoryCache,
    ns: &str,
    id: u32,
    fail: bool,
) -> Result<u32, String> {
    if fail { Err("no".into()) } else { Ok(id) }
}

pub async fn stacked_attributes_each_use_their_own_targets_and_cache(b: Backend) {
    let other = MemoryCache::new();
    for key in ["first:1", "first:2", "second:x", "third"] {
        b.seed(&b.key(key), "1").await;
        other.set(&b.key(key), "1", None).await.unwrap();
    }
    assert_eq!(
        stacked(&b.cache, &other, &b.ns, 1, true).await,
        Err("no".to_owned())
    );
    for key in ["first:1", "second:x", "third"] {
        assert!(
            b.stored(&b.key(key)).await.is_some(),
            "an Err deletes nothing"
        );
        assert!(other.exists(&b.key(key)).await.unwrap());
    }

    assert_eq!(stacked(&b.cache, &other, &b.ns, 1, false).await, Ok(1));
    // The first attribute's key, on `cache` only.
    assert_eq!(b.stored(&b.key("first:1")).await, None);
    assert!(other.exists(&b.key("first:1")).await.unwrap());
    assert!(b.stored(&b.key("first:2")).await.is_some());
    // The second attribute's pattern and key, on `other` only.
    assert!(!other.exists(&b.key("second:x")).await.unwrap());
    assert!(!other.exists(&b.key("third")).await.unwrap());
    assert!(b.stored(&b.key("second:x")).await.is_some());
    assert!(b.stored(&b.key("third")).await.is_some());
}

#[invalidate(pattern = "{ns}:glob:{name}:*", cache = cache)]
async fn forget(cache: &SharedCache, ns: &str, name: &str) {}

#[invalidate(key = "{ns}:glob:{name}", cache = cache)]
async fn forget_key(cache: &SharedCache, ns: &str, name: &str) {}

/// Keys that an unescaped value would widen a pattern to.
const GLOB_KEYS: &[&str] = &[
    "glob:a*:1",
    "glob:a*:2",
    "glob:a*",
    "glob:ab:1",
    "glob:a:1",
    "glob:b:1",
    "glob:a?:1",
    "glob:[ab]:1",
    r"glob:a\b:1",
    "glob:*:1",
    "glob:?:1",
    "glob:]:1",
];

pub async fn interpolated_values_are_glob_escaped(b: Backend) {
    let cases: &[(&str, &[&str])] = &[
        ("a*", &["glob:a*:1", "glob:a*:2"]),
        ("a?", &["glob:a?:1"]),
        ("[ab]", &["glob:[ab]:1"]),
        (r"a\b", &[r"glob:a\b:1"]),
        ("*", &["glob:*:1"]),
        ("?", &["glob:?:1"]),
        ("]", &["glob:]:1"]),
    ];
    for (name, expected) in cases {
        for key in GLOB_KEYS {
            b.seed(&b.key(key), "1").await;
        }
        forget(&b.cache, &b.ns, name).await;
        for key in GLOB_KEYS {
            let deleted = b.stored(&b.key(key)).await.is_none();
            assert_eq!(
                deleted,
                expected.contains(key),
                "forget({name:?}): {key} {}",
                if deleted { "was deleted" } else { "survived" }
            );
        }
    }

    // A key target is exact whatever it holds.
    for key in GLOB_KEYS {
        b.seed(&b.key(key), "1").await;
    }
    forget_key(&b.cache, &b.ns, "a*:1").await;
    for key in GLOB_KEYS {
        let deleted = b.stored(&b.key(key)).await.is_none();
        assert_eq!(deleted, *key == "glob:a*:1", "forget_key: {key}");
    }
}
