//! Atomic counters: `increment` and `decrement`.

use std::time::Duration;

use cache_aside::ErrorCode;

use crate::backend::{Backend, Prefixed};

pub async fn increment_creates_the_key_at_zero<C: Prefixed>(b: Backend<C>) {
    assert_eq!(b.cache.increment("c", 5).await.unwrap(), 5);
    assert_eq!(b.cache.get("c").await.unwrap().as_deref(), Some("5"));
    assert_eq!(b.cache.ttl("c").await.unwrap(), None);
    assert_eq!(b.cache.decrement("d", 2).await.unwrap(), -2);
}

pub async fn increment_and_decrement_add_and_subtract<C: Prefixed>(b: Backend<C>) {
    assert_eq!(b.cache.increment("c", 10).await.unwrap(), 10);
    assert_eq!(b.cache.decrement("c", 3).await.unwrap(), 7);
    assert_eq!(b.cache.increment("c", -10).await.unwrap(), -3);
    assert_eq!(b.cache.decrement("c", -3).await.unwrap(), 0);
    assert_eq!(b.cache.increment("c", 0).await.unwrap(), 0);
    b.cache.set("s", "-42", None).await.unwrap();
    assert_eq!(b.cache.increment("s", 2).await.unwrap(), -40);
}

pub async fn counters_keep_their_ttl<C: Prefixed>(b: Backend<C>) {
    let ttl = Duration::from_secs(600);
    b.cache.set("c", "1", Some(ttl)).await.unwrap();
    assert_eq!(b.cache.increment("c", 1).await.unwrap(), 2);
    let left = b
        .cache
        .ttl("c")
        .await
        .unwrap()
        .expect("INCRBY keeps the TTL");
    assert!(left > ttl - Duration::from_secs(60), "{left:?}");
}

pub async fn non_integer_values_are_refused_and_kept<C: Prefixed>(b: Backend<C>) {
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
        b.cache.set("c", value, None).await.unwrap();
        let error = b.cache.increment("c", 1).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Increment, "{value:?}");
        assert_eq!(error.key(), Some("c"));
        assert_eq!(b.cache.get("c").await.unwrap().as_deref(), Some(value));
    }
}

pub async fn overflow_is_refused_and_changes_nothing<C: Prefixed>(b: Backend<C>) {
    b.cache
        .set("max", &i64::MAX.to_string(), None)
        .await
        .unwrap();
    assert_eq!(
        b.cache.increment("max", 1).await.unwrap_err().code(),
        ErrorCode::Increment
    );
    assert_eq!(
        b.cache.get("max").await.unwrap(),
        Some(i64::MAX.to_string())
    );

    b.cache
        .set("min", &i64::MIN.to_string(), None)
        .await
        .unwrap();
    assert_eq!(
        b.cache.decrement("min", 1).await.unwrap_err().code(),
        ErrorCode::Increment
    );
    assert_eq!(
        b.cache.get("min").await.unwrap(),
        Some(i64::MIN.to_string())
    );

    assert!(b.cache.decrement("fresh", i64::MIN).await.is_err());
    assert!(!b.cache.exists("fresh").await.unwrap());
}

pub async fn concurrent_increments_are_atomic<C: Prefixed>(b: Backend<C>) {
    const TASKS: i64 = 16;
    const EACH: i64 = 100;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let cache = b.cache.clone();
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
        b.cache.get("hits").await.unwrap(),
        Some((TASKS * EACH).to_string())
    );
}
