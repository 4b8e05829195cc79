// A format spec in a placeholder, and an empty placeholder: neither is supported.

use cache_aside::{cached, invalidate};

#[cached(key = "user:{id:?}")]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[invalidate(pattern = "user:{}*")]
async fn forget(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

fn main() {
    let _ = user(1);
    let _ = forget(1);
}
