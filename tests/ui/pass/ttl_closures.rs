// `ttl = |value| ...` in the forms it takes: annotated or not, `Duration` imported or
// written in full, over each return kind's stored value, reading parameters and `self`,
// on `#[cached]` and `#[cache_put]`.

use std::time::Duration;

use cache_aside::{cache_put, cached};

#[derive(serde::Serialize, serde::Deserialize)]
struct Token {
    expires_in: u64,
}

fn margin(token: &Token) -> Duration {
    Duration::from_secs(token.expires_in.saturating_sub(300))
}

#[cached(key = "a:{id}", ttl = |t: &Token| Duration::from_secs(t.expires_in))]
async fn annotated(id: u64) -> Result<Token, std::io::Error> {
    Ok(Token { expires_in: id })
}

#[cached(key = "b:{id}", ttl = |t| std::time::Duration::from_secs(t.expires_in))]
async fn inferred(id: u64) -> std::io::Result<Token> {
    Ok(Token { expires_in: id })
}

#[cached(key = "c:{id}", ttl = |t: &Token| -> core::time::Duration { margin(t) })]
async fn returns_written(id: u64) -> Option<Token> {
    Some(Token { expires_in: id })
}

#[cached(key = "d:{id}", ttl = margin)]
async fn ok_some(id: u64) -> Result<Option<Token>, String> {
    Ok(Some(Token { expires_in: id }))
}

#[cached(key = "e:{id}", cache_none = true, ttl = |t: &Option<Token>| t.as_ref().map_or(Duration::from_secs(30), margin))]
async fn ok_some_and_none(id: u64) -> Result<Option<Token>, String> {
    Ok(Some(Token { expires_in: id }))
}

#[cached(key = "f:{id}", ttl = |v: &Vec<u64>| Duration::from_secs(v.len() as u64 + *id))]
async fn plain_reading_a_parameter(id: &u64) -> Vec<u64> {
    vec![*id]
}

struct Provider {
    margin: u64,
}

impl Provider {
    #[cached(key = "g:{id}", ttl = |t: &Token| Duration::from_secs(t.expires_in.saturating_sub(self.margin)))]
    async fn reading_self(&self, id: u64) -> Result<Token, String> {
        Ok(Token { expires_in: id })
    }

    #[cache_put(key = "g:{id}", ttl = |t: &Token| Duration::from_secs(t.expires_in.saturating_sub(self.margin)))]
    async fn put(&self, id: u64) -> Result<Token, String> {
        Ok(Token { expires_in: id })
    }
}

/// A body that moves a parameter: the closure reads the value, not the parameter.
#[cache_put(key = "h:{id}", ttl = |t: &String| Duration::from_secs(t.len() as u64 + 1))]
async fn moving_body(id: u64, name: String) -> String {
    let _ = id;
    name
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let provider = Provider { margin: 60 };
    assert_send(annotated(1));
    assert_send(inferred(1));
    assert_send(returns_written(1));
    assert_send(ok_some(1));
    assert_send(ok_some_and_none(1));
    assert_send(plain_reading_a_parameter(&1));
    assert_send(provider.reading_self(1));
    assert_send(provider.put(1));
    assert_send(moving_body(1, String::new()));
}
