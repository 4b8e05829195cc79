//! Prefixes: each instance confined to its own namespace.

use std::time::Duration;

use crate::backend::{Backend, Prefixed};

pub async fn prefixed_caches_cannot_see_each_others_keys<C: Prefixed>(b: Backend<C>) {
    let (a, other) = (b.prefixed("a:"), b.prefixed("b:"));
    a.set("k", "A", None).await.unwrap();
    other.set("k", "B", None).await.unwrap();
    assert_eq!(a.get("k").await.unwrap().as_deref(), Some("A"));
    assert_eq!(other.get("k").await.unwrap().as_deref(), Some("B"));
    // The prefix is really part of the stored key.
    assert_eq!(b.cache.get("a:k").await.unwrap().as_deref(), Some("A"));
    assert_eq!(b.cache.get("k").await.unwrap(), None);
    assert!(other.delete("k").await.unwrap());
    assert!(a.exists("k").await.unwrap());
    assert!(!other.exists("k").await.unwrap());
}

pub async fn prefixed_flush_deletes_only_its_own_keys<C: Prefixed>(b: Backend<C>) {
    let (a, other) = (b.prefixed("a:"), b.prefixed("b:"));
    b.cache.set("plain", "v", None).await.unwrap();
    a.set("1", "v", None).await.unwrap();
    a.set("2", "v", None).await.unwrap();
    other.set("1", "v", None).await.unwrap();
    a.flush().await.unwrap();
    assert!(!a.exists("1").await.unwrap());
    assert!(!a.exists("2").await.unwrap());
    assert!(other.exists("1").await.unwrap());
    assert!(b.cache.exists("plain").await.unwrap());
}

pub async fn prefixed_delete_pattern_stays_inside_the_prefix<C: Prefixed>(b: Backend<C>) {
    let (a, other) = (b.prefixed("a:"), b.prefixed("b:"));
    for cache in [&a, &other, &b.cache] {
        cache.set("user:1", "v", None).await.unwrap();
    }
    assert_eq!(a.delete_pattern("user:*").await.unwrap(), 1);
    assert_eq!(a.delete_pattern("*").await.unwrap(), 0);
    assert!(other.exists("user:1").await.unwrap());
    assert!(b.cache.exists("user:1").await.unwrap());
}

pub async fn glob_characters_in_a_prefix_are_literal<C: Prefixed>(b: Backend<C>) {
    let star = b.prefixed("t*:");
    let class = b.prefixed("[ab]:");
    let (tx, a) = (b.prefixed("tx:"), b.prefixed("a:"));
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

pub async fn prefixed_batches_and_counters_stay_inside<C: Prefixed>(b: Backend<C>) {
    let a = b.prefixed("a:");
    a.set_many(&[("x", "1"), ("y", "2")], None).await.unwrap();
    let values = a.get_many(&["x", "y"]).await.unwrap();
    assert_eq!(values["x"].as_deref(), Some("1"));
    assert_eq!(values["y"].as_deref(), Some("2"));
    assert_eq!(b.cache.get("a:x").await.unwrap().as_deref(), Some("1"));
    assert_eq!(a.increment("n", 3).await.unwrap(), 3);
    assert_eq!(b.cache.get("a:n").await.unwrap().as_deref(), Some("3"));
    assert!(a.expire("n", Duration::from_secs(600)).await.unwrap());
    assert!(b.cache.ttl("a:n").await.unwrap().is_some());
    assert_eq!(b.cache.get("n").await.unwrap(), None);
}

pub async fn flush_without_prefix_deletes_everything<C: Prefixed>(b: Backend<C>) {
    let a = b.prefixed("a:");
    b.cache.set("plain", "v", None).await.unwrap();
    a.set("k", "v", None).await.unwrap();
    b.cache.flush().await.unwrap();
    assert!(!b.cache.exists("plain").await.unwrap());
    assert!(!a.exists("k").await.unwrap());
}

pub async fn views_of_a_prefixed_cache_only_narrow<C: Prefixed>(b: Backend<C>) {
    let tenant = b.prefixed("tenant:");
    let nested = tenant.prefixed("users:");
    b.cache.set("outside", "v", None).await.unwrap();
    tenant.set("settings", "v", None).await.unwrap();
    nested.set("1", "Ada", None).await.unwrap();
    assert_eq!(
        b.cache.get("tenant:users:1").await.unwrap().as_deref(),
        Some("Ada")
    );
    assert_eq!(tenant.get("users:1").await.unwrap().as_deref(), Some("Ada"));

    // An empty prefix does not widen a view back to the whole store.
    nested.prefixed("").flush().await.unwrap();
    assert!(!tenant.exists("users:1").await.unwrap());
    assert!(tenant.exists("settings").await.unwrap());
    assert!(b.cache.exists("outside").await.unwrap());
}
