//! Batches: `get_many` and `set_many`.

use std::collections::HashMap;
use std::time::Duration;

use crate::port::KeyValue;

use super::group;
use super::keys_and_values::AWKWARD;

/// `get_many` answers every key asked for, once, with `None` for a missing one.
pub async fn get_many_returns_every_key_asked_for<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("a", "1", None).await.unwrap();
    cache.set("b", "2", None).await.unwrap();
    let values = cache.get_many(&["a", "missing", "b", "a"]).await.unwrap();
    let expected = HashMap::from([
        ("a".to_owned(), Some("1".to_owned())),
        ("b".to_owned(), Some("2".to_owned())),
        ("missing".to_owned(), None),
    ]);
    assert_eq!(values, expected);
}

/// `set_many` writes every entry, awkward keys and values included, without a TTL.
pub async fn set_many_writes_every_entry<C: KeyValue + Clone + 'static>(cache: C) {
    let entries: Vec<(&str, &str)> = AWKWARD.iter().map(|text| (*text, *text)).collect();
    cache.set_many(&entries, None).await.unwrap();
    let values = cache.get_many(AWKWARD).await.unwrap();
    assert_eq!(values.len(), AWKWARD.len());
    for text in AWKWARD {
        assert_eq!(values[*text].as_deref(), Some(*text));
        assert_eq!(cache.ttl(text).await.unwrap(), None);
    }
}

/// `set_many` with a TTL replaces old values and gives every entry that TTL.
pub async fn set_many_with_ttl_sets_it_on_every_entry<C: KeyValue + Clone + 'static>(cache: C) {
    let ttl = Duration::from_secs(600);
    cache.set("x", "old", None).await.unwrap();
    cache
        .set_many(&[("x", "1"), ("y", "2")], Some(ttl))
        .await
        .unwrap();
    for (key, value) in [("x", "1"), ("y", "2")] {
        assert_eq!(cache.get(key).await.unwrap().as_deref(), Some(value));
        let left = cache.ttl(key).await.unwrap().unwrap();
        assert!(left > ttl - Duration::from_secs(60), "{key}: {left:?}");
    }
}

/// Empty batches ask nothing and succeed, even with a zero TTL.
pub async fn empty_batches_are_no_ops<C: KeyValue + Clone + 'static>(cache: C) {
    assert!(cache.get_many(&[]).await.unwrap().is_empty());
    cache.set_many(&[], None).await.unwrap();
    cache
        .set_many(&[], Some(Duration::from_secs(1)))
        .await
        .unwrap();
    // Even a zero TTL: there is nothing to write it on.
    cache.set_many(&[], Some(Duration::ZERO)).await.unwrap();
}

/// Runs every case of this module, each on a cache from `make` (see [the suite](super)).
pub async fn batches<C: KeyValue + Clone + 'static, F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = C>,
{
    group!(&make, "batches": get_many_returns_every_key_asked_for, set_many_writes_every_entry, set_many_with_ttl_sets_it_on_every_entry, empty_batches_are_no_ops);
}
