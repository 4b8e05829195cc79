//! Leases: a marker in the key that no read reports as a value, that only one token can
//! hold, that every deletion and write removes, that only its holder can replace or give
//! back, and that expires by itself. See [`Leases`] for the contract.

use std::time::{Duration, Instant};

use crate::error::ErrorCode;
use crate::lease::{Lease, LeaseToken, Leases};
use crate::port::{Cache, KeyValue};

use super::{PATIENCE, eventually, group};

/// Far longer than `PATIENCE`, so that a lease expiring cannot pass for one given back.
const LEASE: Duration = Duration::from_secs(60);
const TTL: Option<Duration> = Some(Duration::from_secs(600));

/// The lease capability of `cache`, which these cases need.
pub(super) fn leases_of<C: Cache>(cache: &C) -> &dyn Leases {
    cache
        .leases()
        .expect("the cache has no lease capability: `Cache::leases` returned None")
}

/// What `try_lease` answers for `key` with `token`.
async fn try_lease<C: Cache>(cache: &C, key: &str, token: &LeaseToken) -> Lease {
    leases_of(cache)
        .try_lease(key, token, LEASE, TTL, &[])
        .await
        .unwrap()
}

/// Takes the lease on `key`, which must be free, recording it under `tags`.
pub(super) async fn take<C: Cache>(cache: &C, key: &str, tags: &[&str]) -> LeaseToken {
    let token = LeaseToken::new();
    match leases_of(cache)
        .try_lease(key, &token, LEASE, TTL, tags)
        .await
        .unwrap()
    {
        Lease::Granted => token,
        other => panic!("expected the lease on the free key {key:?}, got {other:?}"),
    }
}

/// Gives the lease of `token` on `key` back and waits (boundedly) until it is: an adapter
/// may give leases back on a task of its own.
async fn release_and_wait<C: KeyValue>(cache: &C, key: &str, token: &LeaseToken) {
    leases_of(cache).release(key, token, LEASE);
    eventually(PATIENCE, "the release of a lease", || async {
        !cache.exists(key).await.unwrap()
    })
    .await;
}

/// Waits until the releases asked for so far have been settled, as far as a case can tell:
/// a release asked for after them, of a lease held on `sync`, has removed its marker.
async fn settle<C: KeyValue>(cache: &C, sync: &str) {
    let token = take(cache, sync, &[]).await;
    release_and_wait(cache, sync, &token).await;
}

/// A marker is no value for `get`, `get_json` and `get_many`, but it is a key for `exists`
/// and `ttl`, with the lease's expiry; another token finds the holder's.
pub async fn a_marker_is_never_a_value<C: KeyValue + Clone + 'static>(cache: C) {
    let token = take(&cache, "k", &[]).await;
    assert_eq!(cache.get("k").await.unwrap(), None, "get");
    assert_eq!(
        cache.get_json::<String>("k").await.unwrap(),
        None,
        "get_json"
    );
    cache.set("v", "1", None).await.unwrap();
    let many = cache.get_many(&["k", "v"]).await.unwrap();
    assert_eq!(many.get("k"), Some(&None), "get_many");
    assert_eq!(many.get("v"), Some(&Some("1".to_owned())), "get_many");
    assert!(cache.exists("k").await.unwrap(), "exists");
    let left = cache.ttl("k").await.unwrap().expect("the lease's expiry");
    assert!(
        left <= LEASE && left > LEASE - Duration::from_secs(5),
        "{left:?}"
    );
    assert_eq!(
        try_lease(&cache, "k", &LeaseToken::new()).await,
        Lease::Loading(token)
    );
    assert!(!cache.exists("other").await.unwrap());
}

/// A second token finds the first's lease (`Loading` with the holder's token), and a value
/// is reported (`Filled`) and left as it was, TTL included.
pub async fn a_lease_is_taken_once_and_never_over_a_value<C: KeyValue + Clone + 'static>(cache: C) {
    let token = take(&cache, "k", &[]).await;
    assert_eq!(
        try_lease(&cache, "k", &LeaseToken::new()).await,
        Lease::Loading(token)
    );
    cache.set("v", "1", None).await.unwrap();
    assert_eq!(
        try_lease(&cache, "v", &LeaseToken::new()).await,
        Lease::Filled("1".into())
    );
    assert_eq!(cache.get("v").await.unwrap().as_deref(), Some("1"));
    assert_eq!(cache.ttl("v").await.unwrap(), None, "the value's TTL stays");
}

/// `try_lease` sent again with the same token (after a lost reply) grants the lease again:
/// `Granted`, or `Loading` with the caller's own token.
pub async fn a_resent_lease_is_granted_to_its_own_token<C: KeyValue + Clone + 'static>(cache: C) {
    let token = take(&cache, "k", &[]).await;
    match try_lease(&cache, "k", &token).await {
        Lease::Granted => {}
        Lease::Loading(holder) if holder == token => {}
        other => panic!("a resent try_lease answered {other:?}"),
    }
    assert!(
        leases_of(&cache)
            .set_leased("k", &token, "1", TTL)
            .await
            .unwrap(),
        "the lease is still the caller's"
    );
}

/// The holder stores once, with its TTL (or none); its lease ends with the write.
pub async fn the_holder_stores_once_with_its_ttl<C: KeyValue + Clone + 'static>(cache: C) {
    let leases = leases_of(&cache);
    let token = take(&cache, "k", &[]).await;
    assert!(leases.set_leased("k", &token, "\"v\"", TTL).await.unwrap());
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("\"v\""));
    assert_eq!(
        try_lease(&cache, "k", &LeaseToken::new()).await,
        Lease::Filled("\"v\"".into())
    );
    let left = cache.ttl("k").await.unwrap().unwrap();
    assert!(left > Duration::from_secs(590), "{left:?}");
    // The lease ended with the write.
    assert!(!leases.set_leased("k", &token, "\"w\"", TTL).await.unwrap());
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("\"v\""));
    // Without a TTL, the value has none.
    let token = take(&cache, "forever", &[]).await;
    assert!(
        leases
            .set_leased("forever", &token, "1", None)
            .await
            .unwrap()
    );
    assert_eq!(cache.ttl("forever").await.unwrap(), None);
}

/// Another token can neither store over a lease nor give it back; the holder gives it back,
/// after which it cannot store, and the key can be leased again at once.
pub async fn another_token_cannot_store_or_release<C: KeyValue + Clone + 'static>(cache: C) {
    let leases = leases_of(&cache);
    let token = take(&cache, "k", &[]).await;
    let stranger = LeaseToken::new();
    assert!(!leases.set_leased("k", &stranger, "1", TTL).await.unwrap());
    leases.release("k", &stranger, LEASE);
    settle(&cache, "sync").await;
    assert_eq!(
        try_lease(&cache, "k", &LeaseToken::new()).await,
        Lease::Loading(token.clone()),
        "a stranger's release removed the lease"
    );
    release_and_wait(&cache, "k", &token).await;
    assert!(!leases.set_leased("k", &token, "1", TTL).await.unwrap());
    take(&cache, "k", &[]).await;
}

/// `release` works from a thread without any async runtime (it is called from `Drop`, which
/// may run after the caller's runtime is gone): the marker goes all the same.
pub async fn a_lease_is_given_back_without_a_runtime<C: KeyValue + Clone + 'static>(cache: C) {
    let token = take(&cache, "k", &[]).await;
    let releasing = cache.clone();
    std::thread::spawn(move || leases_of(&releasing).release("k", &token, LEASE))
        .join()
        .expect("release does not panic without a runtime");
    eventually(
        PATIENCE,
        "the release of a lease from outside a runtime",
        || async { !cache.exists("k").await.unwrap() },
    )
    .await;
}

/// A release after the holder stored (or after someone else wrote) changes nothing.
pub async fn a_late_release_leaves_the_value<C: KeyValue + Clone + 'static>(cache: C) {
    let leases = leases_of(&cache);
    let token = take(&cache, "stored", &[]).await;
    assert!(leases.set_leased("stored", &token, "1", TTL).await.unwrap());
    leases.release("stored", &token, LEASE);
    let overtaken = take(&cache, "written", &[]).await;
    cache.set("written", "2", None).await.unwrap();
    leases.release("written", &overtaken, LEASE);
    settle(&cache, "sync").await;
    assert_eq!(cache.get("stored").await.unwrap().as_deref(), Some("1"));
    assert_eq!(cache.get("written").await.unwrap().as_deref(), Some("2"));
}

/// Every deletion (`delete`, `delete_pattern`, `invalidate_tags`, `expire` to zero, `flush`)
/// and every write (`set`, `set_many`) removes the marker: the holder cannot store after it.
pub async fn every_deletion_and_write_ends_a_lease<C: KeyValue + Clone + 'static>(cache: C) {
    let leases = leases_of(&cache);
    let token = take(&cache, "deleted", &[]).await;
    assert!(cache.delete("deleted").await.unwrap(), "a marker is a key");
    assert!(
        !leases
            .set_leased("deleted", &token, "1", TTL)
            .await
            .unwrap()
    );

    let token = take(&cache, "user:1", &[]).await;
    assert_eq!(cache.delete_pattern("user:*").await.unwrap(), 1);
    assert!(!leases.set_leased("user:1", &token, "1", TTL).await.unwrap());

    let token = take(&cache, "tagged", &["t"]).await;
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
    assert!(!leases.set_leased("tagged", &token, "1", TTL).await.unwrap());

    let token = take(&cache, "expired", &[]).await;
    assert!(cache.expire("expired", Duration::ZERO).await.unwrap());
    assert!(
        !leases
            .set_leased("expired", &token, "1", TTL)
            .await
            .unwrap()
    );

    let token = take(&cache, "overwritten", &[]).await;
    cache.set("overwritten", "put", None).await.unwrap();
    assert!(
        !leases
            .set_leased("overwritten", &token, "1", TTL)
            .await
            .unwrap()
    );
    assert_eq!(
        cache.get("overwritten").await.unwrap().as_deref(),
        Some("put")
    );

    let token = take(&cache, "batched", &[]).await;
    cache.set_many(&[("batched", "many")], None).await.unwrap();
    assert!(
        !leases
            .set_leased("batched", &token, "1", TTL)
            .await
            .unwrap()
    );
    assert_eq!(cache.get("batched").await.unwrap().as_deref(), Some("many"));

    let token = take(&cache, "flushed", &[]).await;
    cache.flush().await.unwrap();
    assert!(
        !leases
            .set_leased("flushed", &token, "1", TTL)
            .await
            .unwrap()
    );
    assert!(!cache.exists("flushed").await.unwrap());
}

/// A lease expires by itself after its length, not before; its holder cannot store after,
/// nor touch the next holder's lease.
pub async fn a_lease_expires_by_itself<C: KeyValue + Clone + 'static>(cache: C) {
    let leases = leases_of(&cache);
    let short = Duration::from_millis(300);
    let token = LeaseToken::new();
    let taken_at = Instant::now();
    assert_eq!(
        leases
            .try_lease("k", &token, short, TTL, &[])
            .await
            .unwrap(),
        Lease::Granted
    );
    assert_eq!(
        try_lease(&cache, "k", &LeaseToken::new()).await,
        Lease::Loading(token.clone())
    );
    eventually(PATIENCE, "the lease's expiry", || async {
        !cache.exists("k").await.unwrap()
    })
    .await;
    assert!(taken_at.elapsed() >= short, "not before its expiry");
    assert!(!leases.set_leased("k", &token, "1", TTL).await.unwrap());
    // The key is leased again; the expired lease's holder can neither store over the new
    // lease nor give it back.
    let next = take(&cache, "k", &[]).await;
    assert!(!leases.set_leased("k", &token, "1", TTL).await.unwrap());
    leases.release("k", &token, short);
    settle(&cache, "sync").await;
    assert_eq!(
        try_lease(&cache, "k", &LeaseToken::new()).await,
        Lease::Loading(next.clone())
    );
    assert!(leases.set_leased("k", &next, "2", TTL).await.unwrap());
}

/// A zero lease is an `ErrorCode::Set` error, and puts nothing at the key; so is a zero TTL
/// for the value a holder stores.
pub async fn a_zero_lease_is_refused<C: KeyValue + Clone + 'static>(cache: C) {
    let error = leases_of(&cache)
        .try_lease("k", &LeaseToken::new(), Duration::ZERO, TTL, &[])
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Set);
    assert!(!cache.exists("k").await.unwrap());
    // A zero TTL for the value is refused as by `set`, and the lease stays its holder's.
    let token = take(&cache, "k", &[]).await;
    let error = leases_of(&cache)
        .set_leased("k", &token, "1", Some(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Set);
    assert!(
        leases_of(&cache)
            .set_leased("k", &token, "1", TTL)
            .await
            .unwrap()
    );
}

/// What `plant` put at the key `"foreign"`, neither a value nor a marker (another Redis type,
/// bytes that are not UTF-8), is reported as `Lease::Foreign` and left there, is never read
/// as a value, and once deleted the key can be leased.
///
/// Not in the [`leases`](fn@leases) group: only a byte store can hold such contents, and
/// only the caller knows how to put them there (`plant` gets the key as this cache names
/// it; add the prefix if the cache has one).
pub async fn foreign_contents_are_reported<C, P, Fut>(cache: C, plant: P)
where
    C: KeyValue + Clone + 'static,
    P: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    cache.flush().await.unwrap();
    plant("foreign").await;
    assert_eq!(
        try_lease(&cache, "foreign", &LeaseToken::new()).await,
        Lease::Foreign
    );
    assert!(cache.exists("foreign").await.unwrap(), "try_lease left it");
    let read = cache.get("foreign").await;
    assert!(!matches!(read, Ok(Some(_))), "read as a value: {read:?}");
    assert!(cache.delete("foreign").await.unwrap());
    take(&cache, "foreign", &[]).await;
}

/// Runs every case of this module, each on a cache from `make` (see [the suite](super)).
///
/// # Panics
/// When the cache has no [`Cache::leases`] capability, or a case fails.
pub async fn leases<C: KeyValue + Clone + 'static, F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = C>,
{
    group!(&make, "leases":
        a_marker_is_never_a_value,
        a_lease_is_taken_once_and_never_over_a_value,
        a_resent_lease_is_granted_to_its_own_token,
        the_holder_stores_once_with_its_ttl,
        another_token_cannot_store_or_release,
        a_lease_is_given_back_without_a_runtime,
        a_late_release_leaves_the_value,
        every_deletion_and_write_ends_a_lease,
        a_lease_expires_by_itself,
        a_zero_lease_is_refused,
    );
}
