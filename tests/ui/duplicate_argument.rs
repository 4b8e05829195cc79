// The same argument twice (`key` and `pattern` may repeat on `#[invalidate]` only).

use cache_aside::{cached, invalidate};

#[cached(key = "user:{id}", ttl = 60, ttl = "1h")]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[invalidate(key = "user:{id}", cache = cache_aside::global(), cache = cache_aside::global())]
async fn forget(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

fn main() {
    let _ = user(1);
    let _ = forget(1);
}
