//! Expiry: `set` with a TTL, `ttl`, `expire`, and the TTLs every adapter refuses.

use std::time::Duration;

use cache_aside::ErrorCode;

use crate::backend::{Backend, Prefixed, eventually};

const LONG: Duration = Duration::from_secs(600);

pub async fn no_ttl_and_no_key_both_report_none<C: Prefixed>(b: Backend<C>) {
    b.cache.set("forever", "v", None).await.unwrap();
    assert_eq!(b.cache.ttl("forever").await.unwrap(), None);
    assert_eq!(b.cache.ttl("missing").await.unwrap(), None);
}

pub async fn ttl_reports_the_time_left<C: Prefixed>(b: Backend<C>) {
    b.cache.set("k", "v", Some(LONG)).await.unwrap();
    let left = b.cache.ttl("k").await.unwrap().unwrap();
    assert!(
        left <= LONG && left > LONG - Duration::from_secs(60),
        "{left:?}"
    );
}

pub async fn keys_expire_after_their_ttl<C: Prefixed>(b: Backend<C>) {
    b.cache
        .set("short", "v", Some(Duration::from_millis(150)))
        .await
        .unwrap();
    b.cache.set("long", "v", Some(LONG)).await.unwrap();
    eventually(Duration::from_secs(10), "expiry of `short`", || async {
        b.cache.get("short").await.unwrap().is_none()
    })
    .await;
    assert!(!b.cache.exists("short").await.unwrap());
    assert_eq!(b.cache.ttl("short").await.unwrap(), None);
    assert!(!b.cache.delete("short").await.unwrap());
    assert_eq!(b.cache.get("long").await.unwrap().as_deref(), Some("v"));
}

pub async fn sub_millisecond_ttls_still_expire<C: Prefixed>(b: Backend<C>) {
    // Rounded up to 1 ms, never down to "no expiry".
    b.cache
        .set("k", "v", Some(Duration::from_micros(1)))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "expiry of a 1 µs TTL", || async {
        !b.cache.exists("k").await.unwrap()
    })
    .await;
}

pub async fn set_without_ttl_clears_the_old_ttl<C: Prefixed>(b: Backend<C>) {
    b.cache.set("k", "v", Some(LONG)).await.unwrap();
    b.cache.set("k", "w", None).await.unwrap();
    assert_eq!(b.cache.ttl("k").await.unwrap(), None);
}

pub async fn expire_sets_a_ttl_on_existing_keys_only<C: Prefixed>(b: Backend<C>) {
    assert!(!b.cache.expire("missing", LONG).await.unwrap());
    assert!(!b.cache.exists("missing").await.unwrap());
    b.cache.set("k", "v", None).await.unwrap();
    assert!(b.cache.expire("k", LONG).await.unwrap());
    let left = b.cache.ttl("k").await.unwrap().unwrap();
    assert!(
        left <= LONG && left > LONG - Duration::from_secs(60),
        "{left:?}"
    );
    assert!(
        b.cache
            .expire("k", Duration::from_millis(100))
            .await
            .unwrap()
    );
    eventually(Duration::from_secs(10), "expiry after expire()", || async {
        !b.cache.exists("k").await.unwrap()
    })
    .await;
    assert!(!b.cache.expire("k", LONG).await.unwrap());
}

pub async fn expire_zero_deletes_the_key<C: Prefixed>(b: Backend<C>) {
    b.cache.set("k", "v", None).await.unwrap();
    assert!(b.cache.expire("k", Duration::ZERO).await.unwrap());
    assert!(!b.cache.exists("k").await.unwrap());
    assert!(!b.cache.expire("k", Duration::ZERO).await.unwrap());
}

pub async fn zero_ttl_on_write_is_refused_and_writes_nothing<C: Prefixed>(b: Backend<C>) {
    let error = b
        .cache
        .set("k", "v", Some(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Set);
    assert_eq!(error.key(), Some("k"));
    let error = b
        .cache
        .set_many(&[("a", "1"), ("b", "2")], Some(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::MultiSet);
    let error = b
        .cache
        .set_json("j", &1, Some(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Set);
    for key in ["k", "a", "b", "j"] {
        assert!(!b.cache.exists(key).await.unwrap(), "{key}");
    }
}

pub async fn absurd_ttls_are_refused<C: Prefixed>(b: Backend<C>) {
    let error = b
        .cache
        .set("k", "v", Some(Duration::MAX))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Set);
    b.cache.set("k", "v", None).await.unwrap();
    let error = b.cache.expire("k", Duration::MAX).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Expire);
    assert_eq!(b.cache.ttl("k").await.unwrap(), None);
}
