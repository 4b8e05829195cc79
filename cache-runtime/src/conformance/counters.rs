//! Atomic counters: `increment` and `decrement`.

use std::time::Duration;

use crate::error::ErrorCode;
use crate::port::KeyValue;

use super::group;

/// A counter that does not exist starts at zero, without a TTL.
pub async fn increment_creates_the_key_at_zero<C: KeyValue + Clone + 'static>(cache: C) {
    assert_eq!(cache.increment("c", 5).await.unwrap(), 5);
    assert_eq!(cache.get("c").await.unwrap().as_deref(), Some("5"));
    assert_eq!(cache.ttl("c").await.unwrap(), None);
    assert_eq!(cache.decrement("d", 2).await.unwrap(), -2);
}

/// `increment` adds and `decrement` subtracts, negative amounts included, on text that is an integer.
pub async fn increment_and_decrement_add_and_subtract<C: KeyValue + Clone + 'static>(cache: C) {
    assert_eq!(cache.increment("c", 10).await.unwrap(), 10);
    assert_eq!(cache.decrement("c", 3).await.unwrap(), 7);
    assert_eq!(cache.increment("c", -10).await.unwrap(), -3);
    assert_eq!(cache.decrement("c", -3).await.unwrap(), 0);
    assert_eq!(cache.increment("c", 0).await.unwrap(), 0);
    cache.set("s", "-42", None).await.unwrap();
    assert_eq!(cache.increment("s", 2).await.unwrap(), -40);
}

/// A counter keeps the TTL of the key it updates.
pub async fn counters_keep_their_ttl<C: KeyValue + Clone + 'static>(cache: C) {
    let ttl = Duration::from_secs(600);
    cache.set("c", "1", Some(ttl)).await.unwrap();
    assert_eq!(cache.increment("c", 1).await.unwrap(), 2);
    let left = cache.ttl("c").await.unwrap().expect("INCRBY keeps the TTL");
    assert!(left > ttl - Duration::from_secs(60), "{left:?}");
}

/// A value that is not a base-10 `i64` is an `ErrorCode::Increment` error naming the key, and stays as it was.
pub async fn non_integer_values_are_refused_and_kept<C: KeyValue + Clone + 'static>(cache: C) {
    let not_integers = [
        "abc",
        "1.5",
        "+1",
        "01",
        " 1",
        "1 ",
        "-0",
        "",
        "1e3",
        "9223372036854775808",
    ];
    for value in not_integers {
        cache.set("c", value, None).await.unwrap();
        let error = cache.increment("c", 1).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Increment, "{value:?}");
        assert_eq!(error.key(), Some("c"));
        assert_eq!(cache.get("c").await.unwrap().as_deref(), Some(value));
    }
}

/// An overflow is an `ErrorCode::Increment` error and changes nothing, nor creates the key.
pub async fn overflow_is_refused_and_changes_nothing<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("max", &i64::MAX.to_string(), None).await.unwrap();
    assert_eq!(
        cache.increment("max", 1).await.unwrap_err().code(),
        ErrorCode::Increment
    );
    assert_eq!(cache.get("max").await.unwrap(), Some(i64::MAX.to_string()));

    cache.set("min", &i64::MIN.to_string(), None).await.unwrap();
    assert_eq!(
        cache.decrement("min", 1).await.unwrap_err().code(),
        ErrorCode::Increment
    );
    assert_eq!(cache.get("min").await.unwrap(), Some(i64::MIN.to_string()));

    assert!(cache.decrement("fresh", i64::MIN).await.is_err());
    assert!(!cache.exists("fresh").await.unwrap());
}

/// Increments from many tasks at once all count (the case spawns Tokio tasks).
pub async fn concurrent_increments_are_atomic<C: KeyValue + Clone + 'static>(cache: C) {
    const TASKS: i64 = 16;
    const EACH: i64 = 100;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move {
                for _ in 0..EACH {
                    cache.increment("hits", 1).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        cache.get("hits").await.unwrap(),
        Some((TASKS * EACH).to_string())
    );
}

/// Runs every case of this module, each on a cache from `make` (see [the suite](super)).
pub async fn counters<C: KeyValue + Clone + 'static, F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = C>,
{
    group!(&make, "counters": increment_creates_the_key_at_zero, increment_and_decrement_add_and_subtract, counters_keep_their_ttl, non_integer_values_are_refused_and_kept, overflow_is_refused_and_changes_nothing, concurrent_increments_are_atomic);
}
