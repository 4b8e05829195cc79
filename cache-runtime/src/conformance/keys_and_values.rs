//! Plain strings, JSON, delete, exists and ping.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::port::KeyValue;

use super::group;

/// Keys and values that trip naive encoders: unicode, control bytes, RESP framing, glob
/// metacharacters, JSON-looking text.
pub const AWKWARD: &[&str] = &[
    "ключ:🔑",
    "naïve café",
    "a b\tc",
    "line\r\nbreak",
    "nul\0byte",
    "\u{1}\u{7f}\u{fffd}",
    "*?[]\\{}",
    "$3\r\nSET\r\n",
    "{\"json\":true}",
    " ",
];

/// `get` of a key that was never set is `None`.
pub async fn get_of_a_missing_key_is_none<C: KeyValue + Clone + 'static>(cache: C) {
    assert_eq!(cache.get("missing").await.unwrap(), None);
}

/// `set` then `get` returns the value, and a second `set` replaces it.
pub async fn set_then_get_round_trips_and_overwrites<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("k", "one", None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("one"));
    cache.set("k", "two", None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("two"));
}

/// The empty key and the empty value are stored like any other.
pub async fn empty_keys_and_values_are_ordinary<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("", "empty key", None).await.unwrap();
    cache.set("empty value", "", None).await.unwrap();
    assert_eq!(cache.get("").await.unwrap().as_deref(), Some("empty key"));
    assert_eq!(cache.get("empty value").await.unwrap().as_deref(), Some(""));
    assert!(cache.exists("empty value").await.unwrap());
}

/// Keys and values with unicode, control bytes, RESP framing and glob characters round-trip.
pub async fn unicode_and_binary_looking_keys_and_values_round_trip<
    C: KeyValue + Clone + 'static,
>(
    cache: C,
) {
    for (i, text) in AWKWARD.iter().enumerate() {
        let value = format!("{text}#{i}");
        cache.set(text, &value, None).await.unwrap();
        assert_eq!(cache.get(text).await.unwrap(), Some(value), "key {text:?}");
    }
    for (i, text) in AWKWARD.iter().enumerate() {
        assert!(cache.delete(text).await.unwrap(), "key {text:?} #{i}");
    }
}

/// A 10 KiB key and a 1.4 MB value round-trip.
pub async fn large_values_round_trip<C: KeyValue + Clone + 'static>(cache: C) {
    let key = "k".repeat(10 * 1024);
    let value = "värde-".repeat(200_000);
    cache.set(&key, &value, None).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), Some(value));
}

/// `delete` is `true` for a key that existed and `false` after.
pub async fn delete_reports_whether_the_key_existed<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("k", "v", None).await.unwrap();
    assert!(cache.delete("k").await.unwrap());
    assert!(!cache.delete("k").await.unwrap());
    assert_eq!(cache.get("k").await.unwrap(), None);
}

/// `exists` follows `set` and `delete`.
pub async fn exists_follows_set_and_delete<C: KeyValue + Clone + 'static>(cache: C) {
    assert!(!cache.exists("k").await.unwrap());
    cache.set("k", "v", None).await.unwrap();
    assert!(cache.exists("k").await.unwrap());
    cache.delete("k").await.unwrap();
    assert!(!cache.exists("k").await.unwrap());
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct User {
    id: u64,
    name: String,
    tags: Vec<String>,
}

/// `set_json` stores plain `serde_json` text, which `get_json` reads back; unsized values too.
pub async fn json_round_trips_as_plain_json<C: KeyValue + Clone + 'static>(cache: C) {
    let user = User {
        id: 7,
        name: "Zoë \"Z\" O'Neil".into(),
        tags: vec!["a".into()],
    };
    cache.set_json("user:7", &user, None).await.unwrap();
    // Plain serde_json, so that other services can read it.
    assert_eq!(
        cache.get("user:7").await.unwrap().as_deref(),
        Some(r#"{"id":7,"name":"Zoë \"Z\" O'Neil","tags":["a"]}"#)
    );
    assert_eq!(cache.get_json::<User>("user:7").await.unwrap(), Some(user));
    assert_eq!(cache.get_json::<User>("user:8").await.unwrap(), None);
    // Unsized values too.
    cache.set_json("slice", &[1, 2, 3][..], None).await.unwrap();
    assert_eq!(
        cache.get_json::<Vec<u8>>("slice").await.unwrap(),
        Some(vec![1, 2, 3])
    );
}

/// `get_json` of text that is not JSON is an `ErrorCode::Json` error naming the key.
pub async fn invalid_json_is_a_json_error_naming_the_key<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set("user:1", "{not json", None).await.unwrap();
    let error = cache.get_json::<User>("user:1").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Json);
    assert_eq!(error.code().as_str(), "CACHE_JSON_ERROR");
    assert_eq!(error.key(), Some("user:1"));
}

/// `get_json` of another type is an `ErrorCode::Json` error that does not quote the value.
pub async fn json_of_another_type_is_a_json_error<C: KeyValue + Clone + 'static>(cache: C) {
    cache.set_json("n", &"a secret string", None).await.unwrap();
    let error = cache.get_json::<u64>("n").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Json);
    // Errors never carry cached values: they end up in logs.
    assert!(!error.to_string().contains("secret"), "{error}");
}

/// `ping` succeeds.
pub async fn ping_answers<C: KeyValue + Clone + 'static>(cache: C) {
    cache.ping().await.unwrap();
}

/// Runs every case of this module, each on a cache from `make` (see [the suite](super)).
pub async fn keys_and_values<C: KeyValue + Clone + 'static, F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = C>,
{
    group!(&make, "keys_and_values": get_of_a_missing_key_is_none, set_then_get_round_trips_and_overwrites, empty_keys_and_values_are_ordinary, unicode_and_binary_looking_keys_and_values_round_trip, large_values_round_trip, delete_reports_whether_the_key_existed, exists_follows_set_and_delete, json_round_trips_as_plain_json, invalid_json_is_a_json_error_naming_the_key, json_of_another_type_is_a_json_error, ping_answers);
}
