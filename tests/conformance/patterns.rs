//! `delete_pattern` with Redis glob semantics.

use std::collections::BTreeSet;
use std::time::Duration;

use cache_aside::escape_glob;

use crate::backend::{Backend, Prefixed, eventually};
use crate::keys_and_values::AWKWARD;

const KEYS: &[&str] = &[
    "user:1",
    "user:2",
    "user:10",
    "user:",
    "userX1",
    "user:*",
    "user:?",
    "user:[1]",
    "user:\\",
    "session:1",
    "a",
    "b",
    "c",
    "ab",
    "é",
];

/// Each pattern with the keys of [`KEYS`] it must delete, worked out from Redis's rules.
const CASES: &[(&str, &[&str])] = &[
    (
        "user:*",
        &[
            "user:1", "user:2", "user:10", "user:", "user:*", "user:?", "user:[1]", "user:\\",
        ],
    ),
    (
        "user:?",
        &["user:1", "user:2", "user:*", "user:?", "user:\\"],
    ),
    ("user:[12]", &["user:1", "user:2"]),
    ("user:[^1]", &["user:2", "user:*", "user:?", "user:\\"]),
    ("user:[0-9]*", &["user:1", "user:2", "user:10"]),
    ("user[:X]1", &["user:1", "userX1"]),
    (r"user:\*", &["user:*"]),
    (r"user:\?", &["user:?"]),
    (r"user:\[1\]", &["user:[1]"]),
    (r"user:\\", &["user:\\"]),
    ("[a-b]", &["a", "b"]),
    ("[b-a]", &["a", "b"]),
    ("[^a-b]", &["c"]),
    // `?` is one byte, so it does not match the two bytes of "é".
    ("?", &["a", "b", "c"]),
    ("??", &["ab", "é"]),
    ("*1", &["user:1", "userX1", "session:1"]),
    ("nothing*", &[]),
];

pub async fn delete_pattern_deletes_matching_keys_only<C: Prefixed>(b: Backend<C>) {
    // The design's example: `user:*` deletes users and keeps sessions.
    for key in ["user:1", "user:2", "session:1"] {
        b.cache.set(key, "v", None).await.unwrap();
    }
    assert_eq!(b.cache.delete_pattern("user:*").await.unwrap(), 2);
    assert!(!b.cache.exists("user:1").await.unwrap());
    assert!(!b.cache.exists("user:2").await.unwrap());
    assert!(b.cache.exists("session:1").await.unwrap());
    assert_eq!(b.cache.delete_pattern("user:*").await.unwrap(), 0);
}

pub async fn delete_pattern_counts_only_live_keys<C: Prefixed>(b: Backend<C>) {
    b.cache
        .set("p:gone", "v", Some(Duration::from_millis(50)))
        .await
        .unwrap();
    b.cache.set("p:here", "v", None).await.unwrap();
    eventually(Duration::from_secs(10), "expiry of p:gone", || async {
        !b.cache.exists("p:gone").await.unwrap()
    })
    .await;
    assert_eq!(b.cache.delete_pattern("p:*").await.unwrap(), 1);
}

pub async fn glob_edge_cases_match_like_redis<C: Prefixed>(b: Backend<C>) {
    let entries: Vec<(&str, &str)> = KEYS.iter().map(|key| (*key, "v")).collect();
    for (pattern, expected) in CASES {
        b.cache.flush().await.unwrap();
        b.cache.set_many(&entries, None).await.unwrap();
        let deleted = b.cache.delete_pattern(pattern).await.unwrap();
        let mut gone = BTreeSet::new();
        for key in KEYS {
            if !b.cache.exists(key).await.unwrap() {
                gone.insert(*key);
            }
        }
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        assert_eq!(gone, expected, "pattern {pattern:?}");
        assert_eq!(deleted, expected.len() as u64, "pattern {pattern:?}");
    }
}

pub async fn escaped_values_match_only_themselves<C: Prefixed>(b: Backend<C>) {
    let mut literals: Vec<String> = AWKWARD.iter().map(|text| text.to_string()).collect();
    literals.extend(["*", "?", "[a]", "[^a]", "\\", "a\\*b", "[", "]"].map(String::from));
    for literal in &literals {
        b.cache.set(literal, "v", None).await.unwrap();
    }
    for decoy in ["a", "x*", "\\x", "ab", "a*b", "a\\xb"] {
        b.cache.set(decoy, "v", None).await.unwrap();
    }
    for literal in &literals {
        let deleted = b.cache.delete_pattern(&escape_glob(literal)).await.unwrap();
        assert_eq!(deleted, 1, "escaped {literal:?} deleted {deleted} keys");
        assert!(!b.cache.exists(literal).await.unwrap());
    }
    for decoy in ["a", "x*", "\\x", "ab", "a*b", "a\\xb"] {
        assert!(
            b.cache.exists(decoy).await.unwrap(),
            "decoy {decoy:?} was deleted"
        );
    }
}

pub async fn delete_pattern_handles_many_keys<C: Prefixed>(b: Backend<C>) {
    let keys: Vec<String> = (0..5000).map(|i| format!("bulk:{i}")).collect();
    let entries: Vec<(&str, &str)> = keys.iter().map(|key| (key.as_str(), "v")).collect();
    b.cache.set_many(&entries, None).await.unwrap();
    b.cache.set("keep:1", "v", None).await.unwrap();
    assert_eq!(b.cache.delete_pattern("bulk:*").await.unwrap(), 5000);
    assert!(b.cache.exists("keep:1").await.unwrap());
    assert!(!b.cache.exists("bulk:4999").await.unwrap());
}
