//! Leases: a marker in the key that no read reports as a value, that only one caller can
//! take, that every deletion and write removes, and that expires by itself.

use std::time::{Duration, Instant};

use cache_aside::{ErrorCode, Lease, LeaseToken, Lookup};

use crate::backend::{Backend, Prefixed, eventually};

const LEASE: Duration = Duration::from_secs(10);
const TTL: Option<Duration> = Some(Duration::from_secs(600));

/// Takes the lease on `key`, which must be free.
async fn take<C: Prefixed>(cache: &C, key: &str, tags: &[&str]) -> LeaseToken {
    match cache.try_lease(key, LEASE, TTL, tags).await.unwrap() {
        Lease::Granted(token) => token,
        other => panic!("expected the lease on {key}, got {other:?}"),
    }
}

pub async fn a_marker_is_never_a_value<C: Prefixed>(b: Backend<C>) {
    let cache = &b.cache;
    take(cache, "k", &[]).await;
    assert_eq!(cache.get("k").await.unwrap(), None, "get");
    assert_eq!(
        cache.get_json::<String>("k").await.unwrap(),
        None,
        "get_json"
    );
    let many = cache.get_many(&["k"]).await.unwrap();
    assert_eq!(many.get("k"), Some(&None), "get_many");
    assert_eq!(cache.lookup("k").await.unwrap(), Lookup::Loading);
    // The marker is a key all the same: it has the lease's expiry.
    assert!(cache.exists("k").await.unwrap());
    let left = cache.ttl("k").await.unwrap().unwrap();
    assert!(
        left <= LEASE && left > LEASE - Duration::from_secs(5),
        "{left:?}"
    );
    assert_eq!(cache.lookup("other").await.unwrap(), Lookup::Missing);
}

pub async fn a_lease_is_taken_once_and_never_over_a_value<C: Prefixed>(b: Backend<C>) {
    let cache = &b.cache;
    take(cache, "k", &[]).await;
    assert_eq!(
        cache.try_lease("k", LEASE, TTL, &[]).await.unwrap(),
        Lease::Taken
    );
    cache.set("v", "1", None).await.unwrap();
    assert_eq!(
        cache.try_lease("v", LEASE, TTL, &[]).await.unwrap(),
        Lease::Taken
    );
    assert_eq!(cache.get("v").await.unwrap().as_deref(), Some("1"));
}

pub async fn the_holder_stores_once_with_its_ttl<C: Prefixed>(b: Backend<C>) {
    let cache = &b.cache;
    let token = take(cache, "k", &[]).await;
    assert!(cache.set_leased("k", &token, "\"v\"", TTL).await.unwrap());
    assert_eq!(
        cache.lookup("k").await.unwrap(),
        Lookup::Hit("\"v\"".into())
    );
    let left = cache.ttl("k").await.unwrap().unwrap();
    assert!(left > Duration::from_secs(590), "{left:?}");
    // The lease ended with the write.
    assert!(!cache.set_leased("k", &token, "\"w\"", TTL).await.unwrap());
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("\"v\""));
    // Without a TTL, the value has none.
    let token = take(cache, "forever", &[]).await;
    assert!(
        cache
            .set_leased("forever", &token, "1", None)
            .await
            .unwrap()
    );
    assert_eq!(cache.ttl("forever").await.unwrap(), None);
}

pub async fn another_token_cannot_store_or_release<C: Prefixed>(b: Backend<C>) {
    let cache = &b.cache;
    let token = take(cache, "k", &[]).await;
    let stranger = LeaseToken::new();
    assert!(!cache.set_leased("k", &stranger, "1", TTL).await.unwrap());
    cache.release_lease("k", &stranger).await.unwrap();
    assert_eq!(cache.lookup("k").await.unwrap(), Lookup::Loading);
    cache.release_lease("k", &token).await.unwrap();
    assert_eq!(cache.lookup("k").await.unwrap(), Lookup::Missing);
    assert!(!cache.set_leased("k", &token, "1", TTL).await.unwrap());
    // Released, the key can be leased again at once.
    take(cache, "k", &[]).await;
}

pub async fn every_deletion_and_write_ends_a_lease<C: Prefixed>(b: Backend<C>) {
    let cache = &b.cache;
    let token = take(cache, "deleted", &[]).await;
    assert!(cache.delete("deleted").await.unwrap(), "a marker is a key");
    assert!(!cache.set_leased("deleted", &token, "1", TTL).await.unwrap());

    let token = take(cache, "user:1", &[]).await;
    assert_eq!(cache.delete_pattern("user:*").await.unwrap(), 1);
    assert!(!cache.set_leased("user:1", &token, "1", TTL).await.unwrap());

    let token = take(cache, "tagged", &["t"]).await;
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
    assert!(!cache.set_leased("tagged", &token, "1", TTL).await.unwrap());

    let token = take(cache, "overwritten", &[]).await;
    cache.set("overwritten", "put", None).await.unwrap();
    assert!(
        !cache
            .set_leased("overwritten", &token, "1", TTL)
            .await
            .unwrap()
    );
    assert_eq!(
        cache.get("overwritten").await.unwrap().as_deref(),
        Some("put")
    );

    let token = take(cache, "flushed", &[]).await;
    cache.flush().await.unwrap();
    assert!(!cache.set_leased("flushed", &token, "1", TTL).await.unwrap());
    assert_eq!(cache.lookup("flushed").await.unwrap(), Lookup::Missing);

    let prefixed = b.prefixed("p:");
    let token = take(&prefixed, "k", &[]).await;
    prefixed.flush().await.unwrap();
    assert!(!prefixed.set_leased("k", &token, "1", TTL).await.unwrap());
}

pub async fn a_lease_expires_by_itself<C: Prefixed>(b: Backend<C>) {
    let cache = &b.cache;
    let short = Duration::from_millis(300);
    let taken_at = Instant::now();
    let Lease::Granted(token) = cache.try_lease("k", short, TTL, &[]).await.unwrap() else {
        panic!("the key is free");
    };
    assert_eq!(
        cache.try_lease("k", short, TTL, &[]).await.unwrap(),
        Lease::Taken
    );
    eventually(Duration::from_secs(10), "the lease's expiry", || async {
        cache.lookup("k").await.unwrap() == Lookup::Missing
    })
    .await;
    assert!(taken_at.elapsed() >= short, "not before its expiry");
    assert!(!cache.set_leased("k", &token, "1", TTL).await.unwrap());
    take(cache, "k", &[]).await;
}

pub async fn a_zero_lease_is_refused<C: Prefixed>(b: Backend<C>) {
    let error = b
        .cache
        .try_lease("k", Duration::ZERO, TTL, &[])
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Set);
    assert_eq!(b.cache.lookup("k").await.unwrap(), Lookup::Missing);
}
