//! `delete_pattern` with Redis glob semantics.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::escape_glob;
use crate::port::KeyValue;

use super::keys_and_values::AWKWARD;
use super::{PATIENCE, eventually, group};

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

/// `delete_pattern("user:*")` deletes the users, keeps the sessions, and counts what it deleted.
pub async fn delete_pattern_deletes_matching_keys_only<C: KeyValue + Clone + 'static>(cache: C) {
    // The design's example: `user:*` deletes users and keeps sessions.
    for key in ["user:1", "user:2", "session:1"] {
        cache.set(key, "v", None).await.unwrap();
    }
    assert_eq!(cache.delete_pattern("user:*").await.unwrap(), 2);
    assert!(!cache.exists("user:1").await.unwrap());
    assert!(!cache.exists("user:2").await.unwrap());
    assert!(cache.exists("session:1").await.unwrap());
    assert_eq!(cache.delete_pattern("user:*").await.unwrap(), 0);
}

/// A key that expired is not counted by `delete_pattern`.
pub async fn delete_pattern_counts_only_live_keys<C: KeyValue + Clone + 'static>(cache: C) {
    cache
        .set("p:gone", "v", Some(Duration::from_millis(50)))
        .await
        .unwrap();
    cache.set("p:here", "v", None).await.unwrap();
    eventually(PATIENCE, "expiry of p:gone", || async {
        !cache.exists("p:gone").await.unwrap()
    })
    .await;
    assert_eq!(cache.delete_pattern("p:*").await.unwrap(), 1);
}

/// Classes, ranges (reversed too), negation, escapes and `?` (one byte) match as in Redis.
pub async fn glob_edge_cases_match_like_redis<C: KeyValue + Clone + 'static>(cache: C) {
    let entries: Vec<(&str, &str)> = KEYS.iter().map(|key| (*key, "v")).collect();
    for (pattern, expected) in CASES {
        cache.flush().await.unwrap();
        cache.set_many(&entries, None).await.unwrap();
        let deleted = cache.delete_pattern(pattern).await.unwrap();
        let mut gone = BTreeSet::new();
        for key in KEYS {
            if !cache.exists(key).await.unwrap() {
                gone.insert(*key);
            }
        }
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        assert_eq!(gone, expected, "pattern {pattern:?}");
        assert_eq!(deleted, expected.len() as u64, "pattern {pattern:?}");
    }
}

/// A value escaped with [`escape_glob`] matches itself and nothing else.
pub async fn escaped_values_match_only_themselves<C: KeyValue + Clone + 'static>(cache: C) {
    let mut literals: Vec<String> = AWKWARD.iter().map(|text| text.to_string()).collect();
    literals.extend(["*", "?", "[a]", "[^a]", "\\", "a\\*b", "[", "]"].map(String::from));
    for literal in &literals {
        cache.set(literal, "v", None).await.unwrap();
    }
    for decoy in ["a", "x*", "\\x", "ab", "a*b", "a\\xb"] {
        cache.set(decoy, "v", None).await.unwrap();
    }
    for literal in &literals {
        let deleted = cache.delete_pattern(&escape_glob(literal)).await.unwrap();
        assert_eq!(deleted, 1, "escaped {literal:?} deleted {deleted} keys");
        assert!(!cache.exists(literal).await.unwrap());
    }
    for decoy in ["a", "x*", "\\x", "ab", "a*b", "a\\xb"] {
        assert!(
            cache.exists(decoy).await.unwrap(),
            "decoy {decoy:?} was deleted"
        );
    }
}

/// `delete_pattern` deletes 5,000 matching keys and keeps the others.
pub async fn delete_pattern_handles_many_keys<C: KeyValue + Clone + 'static>(cache: C) {
    let keys: Vec<String> = (0..5000).map(|i| format!("bulk:{i}")).collect();
    let entries: Vec<(&str, &str)> = keys.iter().map(|key| (key.as_str(), "v")).collect();
    cache.set_many(&entries, None).await.unwrap();
    cache.set("keep:1", "v", None).await.unwrap();
    assert_eq!(cache.delete_pattern("bulk:*").await.unwrap(), 5000);
    assert!(cache.exists("keep:1").await.unwrap());
    assert!(!cache.exists("bulk:4999").await.unwrap());
}

/// Runs every case of this module, each on a cache from `make` (see [the suite](super)).
pub async fn patterns<C: KeyValue + Clone + 'static, F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = C>,
{
    group!(&make, "patterns": delete_pattern_deletes_matching_keys_only, delete_pattern_counts_only_live_keys, glob_edge_cases_match_like_redis, escaped_values_match_only_themselves, delete_pattern_handles_many_keys);
}
