//! `#[cache_put]`: the body always runs and its result is written for `#[cached]` readers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_aside::{SharedCache, cache_put, cached};

use crate::support::backend::Backend;

#[cached(key = "{ns}:name:{id}", ttl = "1h", cache = cache)]
async fn name(
    cache: &SharedCache,
    calls: &AtomicUsize,
    ns: &str,
    id: u32,
) -> Result<String, String> {
    calls.fetch_add(1, Ordering::SeqCst);
    Ok(format!("user {id}"))
}

#[cache_put(key = "{ns}:name:{id}", ttl = "15m", cache = cache)]
async fn rename(
    cache: &SharedCache,
    calls: &AtomicUsize,
    ns: &str,
    id: u32,
    new_name: Result<&str, &str>,
) -> Result<String, String> {
    calls.fetch_add(1, Ordering::SeqCst);
    new_name.map(str::to_owned).map_err(str::to_owned)
}

pub async fn a_put_always_runs_and_cached_reads_hit_it(b: Backend) {
    let (reads, writes) = (AtomicUsize::new(0), AtomicUsize::new(0));
    assert_eq!(
        rename(&b.cache, &writes, &b.ns, 3, Ok("Grace")).await,
        Ok("Grace".to_owned())
    );
    let key = b.key("name:3");
    assert_eq!(b.stored(&key).await.as_deref(), Some(r#""Grace""#));
    let pttl = b.pttl(&key).await;
    assert!(
        (890_000..=900_000).contains(&pttl),
        "PTTL {pttl}: the put's ttl"
    );
    assert_eq!(
        name(&b.cache, &reads, &b.ns, 3).await,
        Ok("Grace".to_owned())
    );
    assert_eq!(
        reads.load(Ordering::SeqCst),
        0,
        "the read's body did not run"
    );
    assert_eq!(writes.load(Ordering::SeqCst), 1);

    // A put after a read: it runs even though the key holds a value.
    let (reads, writes) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let key = b.key("name:4");
    assert_eq!(
        name(&b.cache, &reads, &b.ns, 4).await,
        Ok("user 4".to_owned())
    );

    // The body runs even though the key holds a value, and its result replaces it.
    for new_name in ["Ada", "Grace"] {
        assert_eq!(
            rename(&b.cache, &writes, &b.ns, 4, Ok(new_name)).await,
            Ok(new_name.to_owned())
        );
        assert_eq!(
            b.stored(&key).await,
            Some(format!("\"{new_name}\"")),
            "the latest write wins"
        );
    }
    assert_eq!(writes.load(Ordering::SeqCst), 2);

    // An Err is returned and not written: the previous value stays.
    assert_eq!(
        rename(&b.cache, &writes, &b.ns, 4, Err("taken")).await,
        Err("taken".to_owned())
    );
    assert_eq!(writes.load(Ordering::SeqCst), 3);
    assert_eq!(b.stored(&key).await.as_deref(), Some(r#""Grace""#));
    assert_eq!(
        name(&b.cache, &reads, &b.ns, 4).await,
        Ok("Grace".to_owned())
    );
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[cache_put(key = "{ns}:email:{id}", cache = cache)]
async fn set_email(cache: &SharedCache, ns: &str, id: u32, email: Option<&str>) -> Option<String> {
    email.map(str::to_owned)
}

#[cache_put(key = "{ns}:phone:{id}", cache = cache, cache_none = true, ttl = Duration::from_secs(30))]
async fn set_phone(cache: &SharedCache, ns: &str, id: u32, phone: Option<&str>) -> Option<String> {
    phone.map(str::to_owned)
}

#[cache_put(key = "{ns}:score:{id}", cache = cache)]
async fn set_score(cache: &SharedCache, ns: &str, id: u32, score: u64) -> u64 {
    score
}

pub async fn put_return_kinds_and_ttls(b: Backend) {
    // Option: Some is written as its value, None is not written.
    assert_eq!(
        set_email(&b.cache, &b.ns, 1, Some("a@x")).await.as_deref(),
        Some("a@x")
    );
    assert_eq!(
        b.stored(&b.key("email:1")).await.as_deref(),
        Some(r#""a@x""#)
    );
    assert_eq!(set_email(&b.cache, &b.ns, 1, None).await, None);
    assert_eq!(
        b.stored(&b.key("email:1")).await.as_deref(),
        Some(r#""a@x""#),
        "a None does not overwrite"
    );
    assert_eq!(b.pttl(&b.key("email:1")).await, -1, "no ttl: no expiry");

    // cache_none = true: a None is written as null, with the Duration ttl.
    assert_eq!(set_phone(&b.cache, &b.ns, 1, None).await, None);
    assert_eq!(b.stored(&b.key("phone:1")).await.as_deref(), Some("null"));
    let pttl = b.pttl(&b.key("phone:1")).await;
    assert!((20_000..=30_000).contains(&pttl), "PTTL {pttl}");

    // Any other type is written as it is.
    assert_eq!(set_score(&b.cache, &b.ns, 1, 99).await, 99);
    assert_eq!(b.stored(&b.key("score:1")).await.as_deref(), Some("99"));
}

#[cache_put(key = "{ns}:profile:{id}", tags = ["{ns}:team:{team}"], ttl = "1h", cache = cache)]
async fn save_profile(cache: &SharedCache, ns: &str, team: u32, id: u32) -> String {
    format!("profile {id} of team {team}")
}

#[cache_aside::invalidate(tags = ["{ns}:team:{team}"], cache = cache)]
async fn reorganise(cache: &SharedCache, ns: &str, team: u32) {}

/// A put records its key under its tags (issue 10, item 10): a later invalidation of the
/// tag deletes what the put wrote, and leaves what other tags hold.
pub async fn a_put_with_tags_is_deleted_by_its_tags(b: Backend) {
    assert_eq!(
        save_profile(&b.cache, &b.ns, 1, 10).await,
        "profile 10 of team 1"
    );
    assert_eq!(
        save_profile(&b.cache, &b.ns, 2, 20).await,
        "profile 20 of team 2"
    );
    let (mine, other) = (b.key("profile:10"), b.key("profile:20"));
    assert!(b.stored(&mine).await.is_some(), "the put wrote");
    reorganise(&b.cache, &b.ns, 1).await;
    assert_eq!(
        b.stored(&mine).await,
        None,
        "the tag's invalidation deleted it"
    );
    assert!(
        b.stored(&other).await.is_some(),
        "another tag's entry stays"
    );
}
