//! Plain strings, JSON, delete, exists and ping.

use cache_aside::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, Prefixed};

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

pub async fn get_of_a_missing_key_is_none<C: Prefixed>(b: Backend<C>) {
    assert_eq!(b.cache.get("missing").await.unwrap(), None);
}

pub async fn set_then_get_round_trips_and_overwrites<C: Prefixed>(b: Backend<C>) {
    b.cache.set("k", "one", None).await.unwrap();
    assert_eq!(b.cache.get("k").await.unwrap().as_deref(), Some("one"));
    b.cache.set("k", "two", None).await.unwrap();
    assert_eq!(b.cache.get("k").await.unwrap().as_deref(), Some("two"));
}

pub async fn empty_keys_and_values_are_ordinary<C: Prefixed>(b: Backend<C>) {
    b.cache.set("", "empty key", None).await.unwrap();
    b.cache.set("empty value", "", None).await.unwrap();
    assert_eq!(b.cache.get("").await.unwrap().as_deref(), Some("empty key"));
    assert_eq!(
        b.cache.get("empty value").await.unwrap().as_deref(),
        Some("")
    );
    assert!(b.cache.exists("empty value").await.unwrap());
}

pub async fn unicode_and_binary_looking_keys_and_values_round_trip<C: Prefixed>(b: Backend<C>) {
    for (i, text) in AWKWARD.iter().enumerate() {
        let value = format!("{text}#{i}");
        b.cache.set(text, &value, None).await.unwrap();
        assert_eq!(
            b.cache.get(text).await.unwrap(),
            Some(value),
            "key {text:?}"
        );
    }
    for (i, text) in AWKWARD.iter().enumerate() {
        assert!(b.cache.delete(text).await.unwrap(), "key {text:?} #{i}");
    }
}

pub async fn large_values_round_trip<C: Prefixed>(b: Backend<C>) {
    let key = "k".repeat(10 * 1024);
    let value = "värde-".repeat(200_000);
    b.cache.set(&key, &value, None).await.unwrap();
    assert_eq!(b.cache.get(&key).await.unwrap(), Some(value));
}

pub async fn delete_reports_whether_the_key_existed<C: Prefixed>(b: Backend<C>) {
    b.cache.set("k", "v", None).await.unwrap();
    assert!(b.cache.delete("k").await.unwrap());
    assert!(!b.cache.delete("k").await.unwrap());
    assert_eq!(b.cache.get("k").await.unwrap(), None);
}

pub async fn exists_follows_set_and_delete<C: Prefixed>(b: Backend<C>) {
    assert!(!b.cache.exists("k").await.unwrap());
    b.cache.set("k", "v", None).await.unwrap();
    assert!(b.cache.exists("k").await.unwrap());
    b.cache.delete("k").await.unwrap();
    assert!(!b.cache.exists("k").await.unwrap());
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct User {
    id: u64,
    name: String,
    tags: Vec<String>,
}

pub async fn json_round_trips_as_plain_json<C: Prefixed>(b: Backend<C>) {
    let user = User {
        id: 7,
        name: "Zoë \"Z\" O'Neil".into(),
        tags: vec!["a".into()],
    };
    b.cache.set_json("user:7", &user, None).await.unwrap();
    // Plain serde_json, so that other services can read it.
    assert_eq!(
        b.cache.get("user:7").await.unwrap().as_deref(),
        Some(r#"{"id":7,"name":"Zoë \"Z\" O'Neil","tags":["a"]}"#)
    );
    assert_eq!(
        b.cache.get_json::<User>("user:7").await.unwrap(),
        Some(user)
    );
    assert_eq!(b.cache.get_json::<User>("user:8").await.unwrap(), None);
    // Unsized values too.
    b.cache
        .set_json("slice", &[1, 2, 3][..], None)
        .await
        .unwrap();
    assert_eq!(
        b.cache.get_json::<Vec<u8>>("slice").await.unwrap(),
        Some(vec![1, 2, 3])
    );
}

pub async fn invalid_json_is_a_json_error_naming_the_key<C: Prefixed>(b: Backend<C>) {
    b.cache.set("user:1", "{not json", None).await.unwrap();
    let error = b.cache.get_json::<User>("user:1").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Json);
    assert_eq!(error.code().as_str(), "CACHE_JSON_ERROR");
    assert_eq!(error.key(), Some("user:1"));
}

pub async fn json_of_another_type_is_a_json_error<C: Prefixed>(b: Backend<C>) {
    b.cache
        .set_json("n", &"a secret string", None)
        .await
        .unwrap();
    let error = b.cache.get_json::<u64>("n").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Json);
    // Errors never carry cached values: they end up in logs.
    assert!(!error.to_string().contains("secret"), "{error}");
}

pub async fn ping_answers<C: Prefixed>(b: Backend<C>) {
    b.cache.ping().await.unwrap();
}
