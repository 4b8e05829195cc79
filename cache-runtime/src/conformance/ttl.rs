//! Expiry: `set` with a TTL, `ttl`, `expire`, and the TTLs every adapter refuses.

use std::time::Duration;

use crate::error::ErrorCode;
use crate::port::KeyValue;

use super::{PATIENCE, eventually, group};

const LONG: Duration = Duration::from_secs(600);

/// `ttl` is `None` for a key without a TTL and for a missing key.
pub async fn no_ttl_and_no_key_both_report_none<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("forever", "v", None).await.unwrap();
    assert_eq!(cache.ttl("forever").await.unwrap(), None);
    assert_eq!(cache.ttl("missing").await.unwrap(), None);
}

/// `ttl` reports the time left, at most the TTL given.
pub async fn ttl_reports_the_time_left<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("k", "v", Some(LONG)).await.unwrap();
    let left = cache.ttl("k").await.unwrap().unwrap();
    assert!(
        left <= LONG && left > LONG - Duration::from_secs(60),
        "{left:?}"
    );
}

/// A key is gone for every operation after its TTL; the others stay.
pub async fn keys_expire_after_their_ttl<C: KeyValue + Clone + 'static>(cache: C) {
    cache
        .set("short", "v", Some(Duration::from_millis(150)))
        .await
        .unwrap();
    cache.set("long", "v", Some(LONG)).await.unwrap();
    eventually(PATIENCE, "expiry of `short`", || async {
        cache.get("short").await.unwrap().is_none()
    })
    .await;
    assert!(!cache.exists("short").await.unwrap());
    assert_eq!(cache.ttl("short").await.unwrap(), None);
    assert!(!cache.delete("short").await.unwrap());
    assert_eq!(cache.get("long").await.unwrap().as_deref(), Some("v"));
}

/// A TTL under a millisecond is rounded up, never down to no expiry.
pub async fn sub_millisecond_ttls_still_expire<C: KeyValue + Clone + 'static>(cache: C) {
    // Rounded up to 1 ms, never down to "no expiry".
    cache
        .set("k", "v", Some(Duration::from_micros(1)))
        .await
        .unwrap();
    eventually(PATIENCE, "expiry of a 1 µs TTL", || async {
        !cache.exists("k").await.unwrap()
    })
    .await;
}

/// `set` without a TTL removes the TTL the key had.
pub async fn set_without_ttl_clears_the_old_ttl<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("k", "v", Some(LONG)).await.unwrap();
    cache.set("k", "w", None).await.unwrap();
    assert_eq!(cache.ttl("k").await.unwrap(), None);
}

/// `expire` sets a TTL on a key that exists, and is `false` for one that does not.
pub async fn expire_sets_a_ttl_on_existing_keys_only<C: KeyValue + Clone + 'static>(cache: C) {
    assert!(!cache.expire("missing", LONG).await.unwrap());
    assert!(!cache.exists("missing").await.unwrap());
    cache.set("k", "v", None).await.unwrap();
    assert!(cache.expire("k", LONG).await.unwrap());
    let left = cache.ttl("k").await.unwrap().unwrap();
    assert!(
        left <= LONG && left > LONG - Duration::from_secs(60),
        "{left:?}"
    );
    assert!(cache.expire("k", Duration::from_millis(100)).await.unwrap());
    eventually(PATIENCE, "expiry after expire()", || async {
        !cache.exists("k").await.unwrap()
    })
    .await;
    assert!(!cache.expire("k", LONG).await.unwrap());
}

/// `expire` with a zero TTL deletes the key at once, as `PEXPIRE key 0` does.
pub async fn expire_zero_deletes_the_key<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("k", "v", None).await.unwrap();
    assert!(cache.expire("k", Duration::ZERO).await.unwrap());
    assert!(!cache.exists("k").await.unwrap());
    assert!(!cache.expire("k", Duration::ZERO).await.unwrap());
}

/// A zero TTL on `set`, `set_many` or `set_json` is an error (`Set`, `MultiSet`) and writes nothing.
pub async fn zero_ttl_on_write_is_refused_and_writes_nothing<C: KeyValue + Clone + 'static>(
    cache: C,
) {
    let error = cache.set("k", "v", Some(Duration::ZERO)).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Set);
    assert_eq!(error.key(), Some("k"));
    let error = cache
        .set_many(&[("a", "1"), ("b", "2")], Some(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::MultiSet);
    let error = cache
        .set_json("j", &1, Some(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Set);
    for key in ["k", "a", "b", "j"] {
        assert!(!cache.exists(key).await.unwrap(), "{key}");
    }
}

/// `Duration::MAX` as a TTL is an error, for `set` and `expire`, and changes nothing.
pub async fn absurd_ttls_are_refused<C: KeyValue + Clone + 'static>(cache: C) {
    let error = cache.set("k", "v", Some(Duration::MAX)).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Set);
    cache.set("k", "v", None).await.unwrap();
    let error = cache.expire("k", Duration::MAX).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Expire);
    assert_eq!(cache.ttl("k").await.unwrap(), None);
}

/// Runs every case of this module, each on a cache from `make` (see [the suite](super)).
pub async fn ttl<C: KeyValue + Clone + 'static, F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = C>,
{
    group!(&make, "ttl": no_ttl_and_no_key_both_report_none, ttl_reports_the_time_left, keys_expire_after_their_ttl, sub_millisecond_ttls_still_expire, set_without_ttl_clears_the_old_ttl, expire_sets_a_ttl_on_existing_keys_only, expire_zero_deletes_the_key, zero_ttl_on_write_is_refused_and_writes_nothing, absurd_ttls_are_refused);
}
