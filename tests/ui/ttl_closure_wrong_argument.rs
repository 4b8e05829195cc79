// A `ttl` closure whose argument is not a reference to the stored value: the error is at
// the closure, and names the signature expected.

use std::time::Duration;

use cache_aside::{cache_put, cached};

#[derive(serde::Serialize, serde::Deserialize)]
struct User {
    id: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Token {
    expires_in: u64,
}

#[cached(key = "user:{id}", ttl = |t: &Token| Duration::from_secs(t.expires_in))]
async fn another_type(id: u64) -> Result<User, String> {
    Ok(User { id })
}

#[cached(key = "token:{id}", ttl = |t: Token| Duration::from_secs(t.expires_in))]
async fn by_value(id: u64) -> Option<Token> {
    Some(Token { expires_in: id })
}

#[cache_put(key = "token:{id}", ttl = |t: &Result<Token, String>| Duration::from_secs(1))]
async fn the_whole_result(id: u64) -> Result<Token, String> {
    Ok(Token { expires_in: id })
}

fn main() {
    let _ = another_type(1);
    let _ = by_value(1);
    let _ = the_whole_result(1);
}
