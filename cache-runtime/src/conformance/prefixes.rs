//! Prefixes: each instance confined to its own namespace.

use std::time::Duration;

use super::leases::{leases_of, take};
use super::tags::fill;
use super::{PATIENCE, Prefixed, eventually, group, has_leases};

/// Views under two prefixes hold different entries, stored under the prefix in the store.
pub async fn prefixed_caches_cannot_see_each_others_keys<C: Prefixed>(cache: C) {
    let (a, other) = (cache.prefixed("a:"), cache.prefixed("b:"));
    a.set("k", "A", None).await.unwrap();
    other.set("k", "B", None).await.unwrap();
    assert_eq!(a.get("k").await.unwrap().as_deref(), Some("A"));
    assert_eq!(other.get("k").await.unwrap().as_deref(), Some("B"));
    // The prefix is really part of the stored key.
    assert_eq!(cache.get("a:k").await.unwrap().as_deref(), Some("A"));
    assert_eq!(cache.get("k").await.unwrap(), None);
    assert!(other.delete("k").await.unwrap());
    assert!(a.exists("k").await.unwrap());
    assert!(!other.exists("k").await.unwrap());
}

/// `flush` of a view deletes its keys only.
pub async fn prefixed_flush_deletes_only_its_own_keys<C: Prefixed>(cache: C) {
    let (a, other) = (cache.prefixed("a:"), cache.prefixed("b:"));
    cache.set("plain", "v", None).await.unwrap();
    a.set("1", "v", None).await.unwrap();
    a.set("2", "v", None).await.unwrap();
    other.set("1", "v", None).await.unwrap();
    a.flush().await.unwrap();
    assert!(!a.exists("1").await.unwrap());
    assert!(!a.exists("2").await.unwrap());
    assert!(other.exists("1").await.unwrap());
    assert!(cache.exists("plain").await.unwrap());
}

/// `delete_pattern` of a view matches only keys under its prefix.
pub async fn prefixed_delete_pattern_stays_inside_the_prefix<C: Prefixed>(cache: C) {
    let (a, other) = (cache.prefixed("a:"), cache.prefixed("b:"));
    for cache in [&a, &other, &cache] {
        cache.set("user:1", "v", None).await.unwrap();
    }
    assert_eq!(a.delete_pattern("user:*").await.unwrap(), 1);
    assert_eq!(a.delete_pattern("*").await.unwrap(), 0);
    assert!(other.exists("user:1").await.unwrap());
    assert!(cache.exists("user:1").await.unwrap());
}

/// Glob characters in a prefix match themselves only.
pub async fn glob_characters_in_a_prefix_are_literal<C: Prefixed>(cache: C) {
    let star = cache.prefixed("t*:");
    let class = cache.prefixed("[ab]:");
    let (tx, a) = (cache.prefixed("tx:"), cache.prefixed("a:"));
    for cache in [&star, &class, &tx, &a] {
        cache.set("k", "v", None).await.unwrap();
    }
    assert_eq!(star.delete_pattern("*").await.unwrap(), 1);
    class.flush().await.unwrap();
    assert!(!star.exists("k").await.unwrap());
    assert!(!class.exists("k").await.unwrap());
    assert!(tx.exists("k").await.unwrap());
    assert!(a.exists("k").await.unwrap());
}

/// Batches, counters and `expire` of a view stay under its prefix.
pub async fn prefixed_batches_and_counters_stay_inside<C: Prefixed>(cache: C) {
    let a = cache.prefixed("a:");
    a.set_many(&[("x", "1"), ("y", "2")], None).await.unwrap();
    let values = a.get_many(&["x", "y"]).await.unwrap();
    assert_eq!(values["x"].as_deref(), Some("1"));
    assert_eq!(values["y"].as_deref(), Some("2"));
    assert_eq!(cache.get("a:x").await.unwrap().as_deref(), Some("1"));
    assert_eq!(a.increment("n", 3).await.unwrap(), 3);
    assert_eq!(cache.get("a:n").await.unwrap().as_deref(), Some("3"));
    assert!(a.expire("n", Duration::from_secs(600)).await.unwrap());
    assert!(cache.ttl("a:n").await.unwrap().is_some());
    assert_eq!(cache.get("n").await.unwrap(), None);
}

/// `flush` without a prefix deletes every key, those of views included.
pub async fn flush_without_prefix_deletes_everything<C: Prefixed>(cache: C) {
    let a = cache.prefixed("a:");
    cache.set("plain", "v", None).await.unwrap();
    a.set("k", "v", None).await.unwrap();
    cache.flush().await.unwrap();
    assert!(!cache.exists("plain").await.unwrap());
    assert!(!a.exists("k").await.unwrap());
}

/// A view of a view is under both prefixes, and an empty prefix does not widen it.
pub async fn views_of_a_prefixed_cache_only_narrow<C: Prefixed>(cache: C) {
    let tenant = cache.prefixed("tenant:");
    let nested = tenant.prefixed("users:");
    cache.set("outside", "v", None).await.unwrap();
    tenant.set("settings", "v", None).await.unwrap();
    nested.set("1", "Ada", None).await.unwrap();
    assert_eq!(
        cache.get("tenant:users:1").await.unwrap().as_deref(),
        Some("Ada")
    );
    assert_eq!(tenant.get("users:1").await.unwrap().as_deref(), Some("Ada"));

    // An empty prefix does not widen a view back to the whole store.
    nested.prefixed("").flush().await.unwrap();
    assert!(!tenant.exists("users:1").await.unwrap());
    assert!(tenant.exists("settings").await.unwrap());
    assert!(cache.exists("outside").await.unwrap());
}

/// `flush` of a view removes the lease markers under its prefix too.
pub async fn a_prefixed_flush_ends_a_lease<C: Prefixed>(cache: C) {
    let prefixed = cache.prefixed("p:");
    let token = take(&prefixed, "k", &[]).await;
    prefixed.flush().await.unwrap();
    assert!(
        !leases_of(&prefixed)
            .set_leased("k", &token, "1", None)
            .await
            .unwrap()
    );
    assert!(!prefixed.exists("k").await.unwrap());
}

/// A view takes and gives back leases on its own keys: the same key of the store, or of
/// another view, is another lease.
pub async fn a_view_gives_back_its_own_leases<C: Prefixed>(cache: C) {
    let prefixed = cache.prefixed("p:");
    let outer = take(&cache, "k", &[]).await;
    let inner = take(&prefixed, "k", &[]).await;
    leases_of(&prefixed).release("k", &inner, Duration::from_secs(60));
    eventually(PATIENCE, "the release of the view's lease", || async {
        !prefixed.exists("k").await.unwrap()
    })
    .await;
    assert!(
        cache.exists("k").await.unwrap(),
        "the store's lease went too"
    );
    assert!(
        leases_of(&cache)
            .set_leased("k", &outer, "1", None)
            .await
            .unwrap()
    );
}

/// A tag of a view is its own: invalidating it leaves the same tag of other views, and a
/// view's `flush` forgets its tags only.
pub async fn tags_are_confined_to_their_prefix<C: Prefixed>(cache: C) {
    let (a, other) = (cache.prefixed("a:"), cache.prefixed("b:"));
    fill(&a, "k", &["t"], "A").await;
    fill(&other, "k", &["t"], "B").await;
    fill(&cache, "k", &["t"], "plain").await;
    assert_eq!(a.invalidate_tags(&["t"]).await.unwrap(), 1);
    assert_eq!(a.get("k").await.unwrap(), None);
    assert_eq!(other.get("k").await.unwrap().as_deref(), Some("B"));
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("plain"));
    // A flush of a prefix forgets its tags; the others keep theirs.
    fill(&a, "k", &["t"], "A").await;
    a.flush().await.unwrap();
    assert_eq!(a.invalidate_tags(&["t"]).await.unwrap(), 0);
    assert_eq!(other.invalidate_tags(&["t"]).await.unwrap(), 1);
}

/// The tags' records of a narrower view are no keys for a wider view's patterns either.
pub async fn patterns_never_match_narrower_views_tags<C: Prefixed>(cache: C) {
    let narrow = cache.prefixed("n:");
    fill(&cache, "x:1", &["t"], "1").await;
    fill(&cache, "x:2", &["t"], "2").await;
    fill(&narrow, "k", &["t"], "3").await;
    // Only the three entries: tags' records, this view's or a narrower one's, are not keys
    // that patterns see.
    assert_eq!(cache.delete_pattern("*").await.unwrap(), 3);
    fill(&cache, "x:1", &["t"], "again").await;
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
    fill(&narrow, "k", &["t"], "again").await;
    assert_eq!(narrow.invalidate_tags(&["t"]).await.unwrap(), 1);
}

/// Runs every case of this module, each on a cache from `make` (see [the suite](super)):
/// the lease and tag cases only when the cache has the [`Cache::leases`](crate::Cache::leases) capability.
pub async fn prefixes<C: Prefixed, F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = C>,
{
    group!(&make, "prefixes":
        prefixed_caches_cannot_see_each_others_keys,
        prefixed_flush_deletes_only_its_own_keys,
        prefixed_delete_pattern_stays_inside_the_prefix,
        glob_characters_in_a_prefix_are_literal,
        prefixed_batches_and_counters_stay_inside,
        flush_without_prefix_deletes_everything,
        views_of_a_prefixed_cache_only_narrow,
    );
    if has_leases(&make).await {
        group!(&make, "prefixes":
            a_prefixed_flush_ends_a_lease,
            a_view_gives_back_its_own_leases,
            tags_are_confined_to_their_prefix,
            patterns_never_match_narrower_views_tags,
        );
    }
}
