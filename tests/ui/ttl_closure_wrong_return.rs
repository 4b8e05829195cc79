// A `ttl` closure that does not return a `Duration`: the error is at what it returns.

use std::time::Duration;

use cache_aside::cached;

#[derive(serde::Serialize, serde::Deserialize)]
struct Token {
    expires_in: u64,
}

#[cached(key = "token:{id}", ttl = |t: &Token| t.expires_in - 300)]
async fn seconds(id: u64) -> Result<Token, String> {
    Ok(Token { expires_in: id })
}

#[cached(key = "token:{id}", ttl = |t: &Token| -> u64 { t.expires_in })]
async fn annotated(id: u64) -> Result<Token, String> {
    Ok(Token { expires_in: id })
}

#[cached(key = "token:{id}", ttl = |t: &Token| Some(Duration::from_secs(t.expires_in)))]
async fn optional(id: u64) -> Result<Token, String> {
    Ok(Token { expires_in: id })
}

fn main() {
    let _ = seconds(1);
    let _ = annotated(1);
    let _ = optional(1);
}
