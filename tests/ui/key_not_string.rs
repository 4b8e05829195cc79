// `key` and `pattern` take string literals, not expressions.

use cache_aside::{cached, invalidate};

const KEY: &str = "user";

#[cached(key = KEY)]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[cached(key = 42)]
async fn number(id: u64) -> Option<u64> {
    Some(id)
}

#[invalidate(key = format!("user:{id}"), pattern = KEY)]
async fn forget(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

fn main() {
    let _ = user(1);
    let _ = number(1);
    let _ = forget(1);
}
