//! Batches: `get_many` and `set_many`.

use std::collections::HashMap;
use std::time::Duration;

use crate::backend::{Backend, Prefixed};
use crate::keys_and_values::AWKWARD;

pub async fn get_many_returns_every_key_asked_for<C: Prefixed>(b: Backend<C>) {
    b.cache.set("a", "1", None).await.unwrap();
    b.cache.set("b", "2", None).await.unwrap();
    let values = b.cache.get_many(&["a", "missing", "b", "a"]).await.unwrap();
    let expected = HashMap::from([
        ("a".to_owned(), Some("1".to_owned())),
        ("b".to_owned(), Some("2".to_owned())),
        ("missing".to_owned(), None),
    ]);
    assert_eq!(values, expected);
}

pub async fn set_many_writes_every_entry<C: Prefixed>(b: Backend<C>) {
    let entries: Vec<(&str, &str)> = AWKWARD.iter().map(|text| (*text, *text)).collect();
    b.cache.set_many(&entries, None).await.unwrap();
    let values = b.cache.get_many(AWKWARD).await.unwrap();
    assert_eq!(values.len(), AWKWARD.len());
    for text in AWKWARD {
        assert_eq!(values[*text].as_deref(), Some(*text));
        assert_eq!(b.cache.ttl(text).await.unwrap(), None);
    }
}

pub async fn set_many_with_ttl_sets_it_on_every_entry<C: Prefixed>(b: Backend<C>) {
    let ttl = Duration::from_secs(600);
    b.cache.set("x", "old", None).await.unwrap();
    b.cache
        .set_many(&[("x", "1"), ("y", "2")], Some(ttl))
        .await
        .unwrap();
    for (key, value) in [("x", "1"), ("y", "2")] {
        assert_eq!(b.cache.get(key).await.unwrap().as_deref(), Some(value));
        let left = b.cache.ttl(key).await.unwrap().unwrap();
        assert!(left > ttl - Duration::from_secs(60), "{key}: {left:?}");
    }
}

pub async fn empty_batches_are_no_ops<C: Prefixed>(b: Backend<C>) {
    assert!(b.cache.get_many(&[]).await.unwrap().is_empty());
    b.cache.set_many(&[], None).await.unwrap();
    b.cache
        .set_many(&[], Some(Duration::from_secs(1)))
        .await
        .unwrap();
    // Even a zero TTL: there is nothing to write it on.
    b.cache.set_many(&[], Some(Duration::ZERO)).await.unwrap();
}
