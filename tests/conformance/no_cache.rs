//! `NoCache` against the exported conformance suite: it passes every case that does not
//! read back what was written, since it keeps nothing.
//!
//! Left out, and why: every case that stores a value and expects it back (`get`, `exists`,
//! `ttl`, `delete` reporting `true`, `expire` on an existing key, counters that accumulate,
//! batches and patterns over stored keys, JSON of a stored value); `prefixes` (it has no
//! views) and `limits` (it has no size limits); `leases` and `tags` (it has no leases, which
//! `run_all` skips for any adapter).

use cache_aside::NoCache;
use cache_aside::conformance::{batches, keys_and_values, ttl};

#[tokio::test]
async fn no_cache_passes_the_cases_that_read_nothing_back() {
    keys_and_values::get_of_a_missing_key_is_none(NoCache).await;
    keys_and_values::ping_answers(NoCache).await;
    ttl::no_ttl_and_no_key_both_report_none(NoCache).await;
    ttl::zero_ttl_on_write_is_refused_and_writes_nothing(NoCache).await;
    ttl::absurd_ttls_are_refused(NoCache).await;
    batches::empty_batches_are_no_ops(NoCache).await;
}

/// What it answers instead, as for a key that is always missing.
#[tokio::test]
async fn no_cache_answers_as_for_a_missing_key() {
    use cache_aside::ErrorCode;
    use cache_aside::prelude::*;
    use std::time::Duration;

    let cache = NoCache;
    cache
        .set("k", "v", Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);
    assert!(!cache.exists("k").await.unwrap());
    assert!(!cache.delete("k").await.unwrap());
    assert_eq!(cache.delete_pattern("*").await.unwrap(), 0);
    assert!(!cache.expire("k", Duration::from_secs(1)).await.unwrap());
    assert_eq!(cache.increment("c", 5).await.unwrap(), 5);
    assert_eq!(
        cache.increment("c", 5).await.unwrap(),
        5,
        "nothing accumulates"
    );
    assert_eq!(cache.decrement("c", 2).await.unwrap(), -2);
    let error = cache.decrement("c", i64::MIN).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Increment);
    cache.set_many(&[("a", "1")], None).await.unwrap();
    let values = cache.get_many(&["a", "b"]).await.unwrap();
    assert_eq!(values.len(), 2);
    assert!(values.values().all(Option::is_none));
    assert!(cache.leases().is_none());
    assert!(cache.invalidate_tags(&["t"]).await.is_err());
    cache.flush().await.unwrap();
}
