//! The TTL that lands in the store, in each way `ttl` can be written.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_aside::{SharedCache, cached};

use crate::support::backend::Backend;
use crate::support::wait::eventually;

#[cached(key = "{ns}:ttl:int", ttl = 3600, cache = cache)]
async fn integer(cache: &SharedCache, ns: &str) -> u8 {
    1
}

#[cached(key = "{ns}:ttl:90s", ttl = "90s", cache = cache)]
async fn seconds(cache: &SharedCache, ns: &str) -> u8 {
    2
}

#[cached(key = "{ns}:ttl:15m", ttl = "15m", cache = cache)]
async fn minutes(cache: &SharedCache, ns: &str) -> u8 {
    3
}

#[cached(key = "{ns}:ttl:1h", ttl = "1h", cache = cache)]
async fn hours(cache: &SharedCache, ns: &str) -> u8 {
    4
}

#[cached(key = "{ns}:ttl:1d", ttl = "1d", cache = cache)]
async fn days(cache: &SharedCache, ns: &str) -> u8 {
    5
}

#[cached(key = "{ns}:ttl:none", cache = cache)]
async fn forever(cache: &SharedCache, ns: &str) -> String {
    "kept".into()
}

/// Asserts that `key` has between `expected - 10 s` and `expected` left.
pub async fn assert_ttl_near(b: &Backend, key: &str, expected: Duration) {
    let expected = i64::try_from(expected.as_millis()).unwrap();
    let pttl = b.pttl(&b.key(key)).await;
    assert!(
        (expected - 10_000..=expected).contains(&pttl),
        "{key}: PTTL {pttl}, expected about {expected}"
    );
}

pub async fn fixed_ttls_and_no_ttl_land(b: Backend) {
    assert_eq!(integer(&b.cache, &b.ns).await, 1);
    assert_eq!(seconds(&b.cache, &b.ns).await, 2);
    assert_eq!(minutes(&b.cache, &b.ns).await, 3);
    assert_eq!(hours(&b.cache, &b.ns).await, 4);
    assert_eq!(days(&b.cache, &b.ns).await, 5);
    assert_ttl_near(&b, "ttl:int", Duration::from_secs(3600)).await;
    assert_ttl_near(&b, "ttl:90s", Duration::from_secs(90)).await;
    assert_ttl_near(&b, "ttl:15m", Duration::from_secs(15 * 60)).await;
    assert_ttl_near(&b, "ttl:1h", Duration::from_secs(3600)).await;
    assert_ttl_near(&b, "ttl:1d", Duration::from_secs(86_400)).await;
    assert_eq!(b.stored(&b.key("ttl:1d")).await.as_deref(), Some("5"));

    // Without `ttl`, no expiry.
    assert_eq!(forever(&b.cache, &b.ns).await, "kept");
    assert_eq!(b.pttl(&b.key("ttl:none")).await, -1);
    assert_eq!(
        b.stored(&b.key("ttl:none")).await.as_deref(),
        Some(r#""kept""#)
    );
}

const TWO_MINUTES: Duration = Duration::from_secs(120);

#[cached(key = "{ns}:ttl:const", ttl = TWO_MINUTES, cache = cache)]
async fn constant(cache: &SharedCache, ns: &str) -> u8 {
    6
}

/// The TTL expression can use the parameters: it is evaluated on each call.
#[cached(key = "{ns}:ttl:expr:{millis}", ttl = Duration::from_millis(millis), cache = cache)]
async fn per_call(cache: &SharedCache, ns: &str, millis: u64) -> u64 {
    millis
}

pub async fn duration_expression_ttls_are_evaluated_per_call(b: Backend) {
    assert_eq!(constant(&b.cache, &b.ns).await, 6);
    assert_ttl_near(&b, "ttl:const", TWO_MINUTES).await;

    assert_eq!(per_call(&b.cache, &b.ns, 1_500).await, 1_500);
    assert_eq!(per_call(&b.cache, &b.ns, 600_000).await, 600_000);
    let short = b.pttl(&b.key("ttl:expr:1500")).await;
    assert!((1..=1_500).contains(&short), "PTTL {short}");
    assert_ttl_near(&b, "ttl:expr:600000", Duration::from_secs(600)).await;
}

#[cached(key = "{ns}:ttl:short", ttl = Duration::from_millis(150), cache = cache)]
async fn short_lived(cache: &SharedCache, calls: &AtomicUsize, ns: &str) -> usize {
    calls.fetch_add(1, Ordering::SeqCst) + 1
}

pub async fn entries_expire_after_their_ttl(b: Backend) {
    let calls = AtomicUsize::new(0);
    assert_eq!(short_lived(&b.cache, &calls, &b.ns).await, 1);
    // Until the entry expires, calls hit and return the first load's value; then the body
    // runs again and its new value is returned.
    let (cache, calls, ns) = (&b.cache, &calls, b.ns.as_str());
    eventually(
        Duration::from_secs(2),
        "the entry expiring",
        || async move { short_lived(cache, calls, ns).await == 2 },
    )
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
