//! Size limits: a value or key over the limit is refused with its own code and stores
//! nothing. The cases take a cache built with [`LIMITS`]: keys of at most
//! 6 bytes, values of at most 8.

use crate::error::ErrorCode;
use crate::lease::LeaseToken;
use crate::port::KeyValue;

use super::leases::take;
use super::{LIMITS, Prefixed, SizeLimits, group, has_leases};

/// A value over the limit is an `ErrorCode::ValueTooLarge` error, for `set` and `set_many`,
/// and stores nothing: the old value stays, and no entry of the batch is written.
pub async fn values_over_the_limit_are_refused<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("k", "12345678", None).await.unwrap();
    let error = cache.set("k", "123456789", None).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::ValueTooLarge, "{error}");
    assert_eq!(
        cache.get("k").await.unwrap().as_deref(),
        Some("12345678"),
        "the old value stays"
    );

    let error = cache
        .set_many(&[("a", "1"), ("b", "123456789")], None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::ValueTooLarge, "{error}");
    assert_eq!(
        cache.get("a").await.unwrap(),
        None,
        "none of them is stored"
    );
}

/// A key over the limit is an `ErrorCode::KeyTooLarge` error that gives its length, for
/// writes and reads alike.
pub async fn keys_over_the_limit_are_refused<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("sixsix", "v", None).await.unwrap();
    for error in [
        cache.set("sevenby", "v", None).await.unwrap_err(),
        cache.get("sevenby").await.unwrap_err(),
    ] {
        assert_eq!(error.code(), ErrorCode::KeyTooLarge, "{error}");
        assert!(error.to_string().contains("7 bytes"), "{error}");
    }
}

/// Leases keep the limits: a key over it cannot be leased, and a value over it is not
/// stored by its lease's holder.
pub async fn leases_keep_the_limits<C: KeyValue + Clone + 'static>(cache: C) {
    let leases = super::leases::leases_of(&cache);
    let error = leases
        .try_lease("sevenby", &LeaseToken::new(), super::PATIENCE, None, &[])
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::KeyTooLarge, "{error}");
    let token = take(&cache, "k", &[]).await;
    let error = leases
        .set_leased("k", &token, "123456789", None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::ValueTooLarge, "{error}");
    assert_eq!(cache.get("k").await.unwrap(), None);
}

/// A view's prefix counts toward the key limit: under `"p:"`, 4 bytes is the longest key.
///
/// Not in the [`limits`](fn@limits) group, which needs no prefixes: run it with a cache built
/// with [`LIMITS`].
pub async fn a_prefix_counts_toward_the_key_limit<C: Prefixed>(cache: C) {
    let prefixed = cache.prefixed("p:");
    prefixed.set("four", "v", None).await.unwrap();
    for error in [
        prefixed.set("fives", "v", None).await.unwrap_err(),
        prefixed.get("fives").await.unwrap_err(),
    ] {
        assert_eq!(error.code(), ErrorCode::KeyTooLarge, "{error}");
        assert!(error.to_string().contains("7 bytes"), "{error}");
    }
}

/// Runs every case of this module except the one with a prefix, each on a cache that `make`
/// builds with the limits it is given ([`LIMITS`]); the lease case only when
/// the cache has the [`Cache::leases`](crate::Cache::leases) capability.
pub async fn limits<C: KeyValue + Clone + 'static, F, Fut>(make: F)
where
    F: Fn(SizeLimits) -> Fut,
    Fut: Future<Output = C>,
{
    let make = || make(LIMITS);
    group!(&make, "limits": values_over_the_limit_are_refused, keys_over_the_limit_are_refused);
    if has_leases(&make).await {
        group!(&make, "limits": leases_keep_the_limits);
    }
}
