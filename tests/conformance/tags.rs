//! Tags: the keys leased under a tag are deleted together, and nothing else is.

use std::time::Duration;

use cache_aside::{Lease, Lookup};

use crate::backend::{Backend, Prefixed};

const LEASE: Duration = Duration::from_secs(10);
const TTL: Option<Duration> = Some(Duration::from_secs(600));

/// Stores `value` at `key` through a lease recorded under `tags`, as `#[cached]` does.
async fn fill<C: Prefixed>(cache: &C, key: &str, tags: &[&str], value: &str) {
    let Lease::Granted(token) = cache.try_lease(key, LEASE, TTL, tags).await.unwrap() else {
        panic!("{key} is free");
    };
    assert!(cache.set_leased(key, &token, value, TTL).await.unwrap());
}

pub async fn a_tag_deletes_its_entries_only<C: Prefixed>(b: Backend<C>) {
    let cache = &b.cache;
    fill(cache, "user:1:orders:1", &["user:1"], "a").await;
    fill(cache, "user:1:orders:2", &["user:1"], "b").await;
    fill(cache, "user:1:profile", &["user:1", "profiles"], "c").await;
    fill(cache, "user:2:orders:1", &["user:2"], "d").await;
    cache.set("user:1", "untagged", None).await.unwrap();
    assert_eq!(cache.invalidate_tags(&["user:1"]).await.unwrap(), 3);
    for key in ["user:1:orders:1", "user:1:orders:2", "user:1:profile"] {
        assert_eq!(cache.lookup(key).await.unwrap(), Lookup::Missing, "{key}");
    }
    assert_eq!(
        cache.get("user:2:orders:1").await.unwrap().as_deref(),
        Some("d")
    );
    assert_eq!(
        cache.get("user:1").await.unwrap().as_deref(),
        Some("untagged")
    );
    // The tag is forgotten; so is the profile, already deleted, under its other tag.
    assert_eq!(cache.invalidate_tags(&["user:1"]).await.unwrap(), 0);
    assert_eq!(cache.invalidate_tags(&["profiles"]).await.unwrap(), 0);
    assert_eq!(cache.invalidate_tags(&["never-used"]).await.unwrap(), 0);
    assert_eq!(cache.invalidate_tags(&[]).await.unwrap(), 0);
}

pub async fn several_tags_at_once_count_each_entry_once<C: Prefixed>(b: Backend<C>) {
    let cache = &b.cache;
    fill(cache, "both", &["a", "b"], "1").await;
    fill(cache, "a-only", &["a"], "2").await;
    fill(cache, "b-only", &["b"], "3").await;
    assert_eq!(cache.invalidate_tags(&["a", "b"]).await.unwrap(), 3);
    for key in ["both", "a-only", "b-only"] {
        assert!(!cache.exists(key).await.unwrap(), "{key}");
    }
}

pub async fn a_tag_recorded_again_after_its_invalidation_starts_afresh<C: Prefixed>(b: Backend<C>) {
    let cache = &b.cache;
    fill(cache, "k", &["t"], "old").await;
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
    fill(cache, "k", &["t"], "new").await;
    cache.set("k2", "not under t", None).await.unwrap();
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
    assert!(cache.exists("k2").await.unwrap());
}

pub async fn tags_are_confined_to_their_prefix<C: Prefixed>(b: Backend<C>) {
    let (a, other) = (b.prefixed("a:"), b.prefixed("b:"));
    fill(&a, "k", &["t"], "A").await;
    fill(&other, "k", &["t"], "B").await;
    fill(&b.cache, "k", &["t"], "plain").await;
    assert_eq!(a.invalidate_tags(&["t"]).await.unwrap(), 1);
    assert_eq!(a.get("k").await.unwrap(), None);
    assert_eq!(other.get("k").await.unwrap().as_deref(), Some("B"));
    assert_eq!(b.cache.get("k").await.unwrap().as_deref(), Some("plain"));
    // A flush of a prefix forgets its tags; the others keep theirs.
    fill(&a, "k", &["t"], "A").await;
    a.flush().await.unwrap();
    assert_eq!(a.invalidate_tags(&["t"]).await.unwrap(), 0);
    assert_eq!(other.invalidate_tags(&["t"]).await.unwrap(), 1);
}

pub async fn patterns_never_match_tags<C: Prefixed>(b: Backend<C>) {
    let cache = &b.cache;
    let narrow = b.prefixed("n:");
    fill(cache, "x:1", &["t"], "1").await;
    fill(cache, "x:2", &["t"], "2").await;
    fill(&narrow, "k", &["t"], "3").await;
    // Only the three entries: tags' records, this view's or a narrower one's, are not keys
    // that patterns see.
    assert_eq!(cache.delete_pattern("*").await.unwrap(), 3);
    fill(cache, "x:1", &["t"], "again").await;
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
}
