//! Tags: the keys recorded under a tag (by a lease, or by `record_tags` for a plain write)
//! are deleted together by [`Cache::invalidate_tags`], and nothing else is.

use std::time::Duration;

use crate::lease::{Lease, LeaseToken};
use crate::port::{Cache, KeyValue};

use super::leases::{leases_of, take};
use super::{PATIENCE, eventually, group};

/// Far longer than `PATIENCE`, so that a lease expiring cannot pass for one given back.
const LEASE: Duration = Duration::from_secs(60);
const TTL: Option<Duration> = Some(Duration::from_secs(600));

/// Stores `value` at `key` through a lease recorded under `tags`, as `#[cached]` does.
pub(super) async fn fill<C: Cache>(cache: &C, key: &str, tags: &[&str], value: &str) {
    let token = take(cache, key, tags).await;
    assert!(
        leases_of(cache)
            .set_leased(key, &token, value, TTL)
            .await
            .unwrap(),
        "the holder of {key:?} could not store"
    );
}

/// A tag deletes the entries recorded under it, counted, and forgets itself; untagged keys,
/// other tags' entries and a key named like the tag stay.
pub async fn a_tag_deletes_its_entries_only<C: KeyValue + Clone + 'static>(cache: C) {
    fill(&cache, "user:1:orders:1", &["user:1"], "a").await;
    fill(&cache, "user:1:orders:2", &["user:1"], "b").await;
    fill(&cache, "user:1:profile", &["user:1", "profiles"], "c").await;
    fill(&cache, "user:2:orders:1", &["user:2"], "d").await;
    cache.set("user:1", "untagged", None).await.unwrap();
    assert_eq!(cache.invalidate_tags(&["user:1"]).await.unwrap(), 3);
    for key in ["user:1:orders:1", "user:1:orders:2", "user:1:profile"] {
        assert!(!cache.exists(key).await.unwrap(), "{key}");
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

/// Several tags at once delete each entry once, and count it once.
pub async fn several_tags_at_once_count_each_entry_once<C: KeyValue + Clone + 'static>(cache: C) {
    fill(&cache, "both", &["a", "b"], "1").await;
    fill(&cache, "a-only", &["a"], "2").await;
    fill(&cache, "b-only", &["b"], "3").await;
    assert_eq!(cache.invalidate_tags(&["a", "b"]).await.unwrap(), 3);
    for key in ["both", "a-only", "b-only"] {
        assert!(!cache.exists(key).await.unwrap(), "{key}");
    }
}

/// A tag recorded again after its invalidation holds only what was recorded since.
pub async fn a_tag_recorded_again_after_its_invalidation_starts_afresh<
    C: KeyValue + Clone + 'static,
>(
    cache: C,
) {
    fill(&cache, "k", &["t"], "old").await;
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
    fill(&cache, "k", &["t"], "new").await;
    cache.set("k2", "not under t", None).await.unwrap();
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
    assert!(cache.exists("k2").await.unwrap());
}

/// `record_tags` puts a plain write (`#[cache_put]`'s) under its tags, whether the key
/// already held a value or nothing yet.
pub async fn record_tags_puts_a_plain_write_under_its_tags<C: KeyValue + Clone + 'static>(
    cache: C,
) {
    let leases = leases_of(&cache);
    leases.record_tags("new", TTL, &["t"]).await.unwrap();
    cache.set("new", "1", TTL).await.unwrap();
    cache.set("old", "2", TTL).await.unwrap();
    leases.record_tags("old", TTL, &["t", "u"]).await.unwrap();
    cache.set("old", "3", TTL).await.unwrap();
    cache.set("bystander", "4", TTL).await.unwrap();
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 2);
    assert!(!cache.exists("new").await.unwrap());
    assert!(!cache.exists("old").await.unwrap());
    assert!(cache.exists("bystander").await.unwrap());
}

/// `record_tags` without tags records nothing and puts nothing at the key: it stays free
/// for a lease.
pub async fn record_tags_without_tags_does_nothing<C: KeyValue + Clone + 'static>(cache: C) {
    leases_of(&cache)
        .record_tags("none", TTL, &[])
        .await
        .unwrap();
    assert!(!cache.exists("none").await.unwrap(), "a key appeared");
    take(&cache, "none", &[]).await;
}

/// Tags' records are not keys: `delete_pattern("*")` deletes the entries only, and the tags
/// still find what is recorded under them afterwards.
pub async fn patterns_never_match_tags<C: KeyValue + Clone + 'static>(cache: C) {
    fill(&cache, "x:1", &["t"], "1").await;
    fill(&cache, "x:2", &["t"], "2").await;
    assert_eq!(cache.delete_pattern("*").await.unwrap(), 2);
    fill(&cache, "x:1", &["t"], "again").await;
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
}

/// `try_lease` records the key under its tags whatever it finds: a value (which the caller
/// then serves under its tags) or another holder's lease (whose value it then waits for).
pub async fn try_lease_records_the_tags_whatever_it_finds<C: KeyValue + Clone + 'static>(cache: C) {
    let leases = leases_of(&cache);
    cache.set("filled", "1", TTL).await.unwrap();
    let found = leases
        .try_lease("filled", &LeaseToken::new(), LEASE, TTL, &["t"])
        .await
        .unwrap();
    assert_eq!(found, Lease::Filled("1".into()));

    let holder = take(&cache, "loading", &[]).await;
    let found = leases
        .try_lease("loading", &LeaseToken::new(), LEASE, TTL, &["t"])
        .await
        .unwrap();
    assert_eq!(found, Lease::Loading(holder.clone()));
    assert!(
        leases
            .set_leased("loading", &holder, "2", TTL)
            .await
            .unwrap()
    );

    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 2);
    assert!(!cache.exists("filled").await.unwrap(), "the value found");
    assert!(
        !cache.exists("loading").await.unwrap(),
        "the value waited for"
    );
}

/// A key whose tagged entry expired, stored again under the same tag, is recorded under it:
/// the old entry's going does not take the new one out of the tag.
pub async fn an_entry_that_expired_and_came_back_is_still_tagged<C: KeyValue + Clone + 'static>(
    cache: C,
) {
    let leases = leases_of(&cache);
    let token = take(&cache, "k", &["t"]).await;
    let short = Some(Duration::from_millis(50));
    assert!(leases.set_leased("k", &token, "old", short).await.unwrap());
    eventually(PATIENCE, "the expiry of the tagged entry", || async {
        !cache.exists("k").await.unwrap()
    })
    .await;
    fill(&cache, "k", &["t"], "new").await;
    churn(&cache).await;
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
    assert!(
        !cache.exists("k").await.unwrap(),
        "the new entry escaped its tag"
    );
}

/// A flush forgets every tag, and a key stored again under a tag after it is recorded under
/// it; one stored again without tags is not.
pub async fn a_flush_forgets_every_tag<C: KeyValue + Clone + 'static>(cache: C) {
    fill(&cache, "again", &["t"], "old").await;
    fill(&cache, "plain", &["t"], "old").await;
    cache.flush().await.unwrap();
    fill(&cache, "again", &["t"], "new").await;
    cache.set("plain", "new", TTL).await.unwrap();
    churn(&cache).await;
    assert_eq!(cache.invalidate_tags(&["t"]).await.unwrap(), 1);
    assert!(
        !cache.exists("again").await.unwrap(),
        "the new entry escaped its tag"
    );
    assert_eq!(
        cache.get("plain").await.unwrap().as_deref(),
        Some("new"),
        "an old record deleted a value stored without tags"
    );
}

/// Enough unrelated traffic for an adapter's housekeeping (a store's pending removals, say)
/// to run before the case looks.
async fn churn<C: KeyValue>(cache: &C) {
    for i in 0..200 {
        let key = format!("churn:{i}");
        cache.set(&key, "x", TTL).await.unwrap();
        cache.get(&key).await.unwrap();
    }
    cache.delete_pattern("churn:*").await.unwrap();
}

/// Runs every case of this module, each on a cache from `make` (see [the suite](super)).
///
/// # Panics
/// When the cache has no [`Cache::leases`] capability, or a case fails.
pub async fn tags<C: KeyValue + Clone + 'static, F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = C>,
{
    group!(&make, "tags":
        a_tag_deletes_its_entries_only,
        several_tags_at_once_count_each_entry_once,
        a_tag_recorded_again_after_its_invalidation_starts_afresh,
        record_tags_puts_a_plain_write_under_its_tags,
        record_tags_without_tags_does_nothing,
        try_lease_records_the_tags_whatever_it_finds,
        an_entry_that_expired_and_came_back_is_still_tagged,
        a_flush_forgets_every_tag,
        patterns_never_match_tags,
    );
}
