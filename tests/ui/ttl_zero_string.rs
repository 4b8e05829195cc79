// `ttl = "0s"` (or any zero with a unit) is zero too.

use cache_aside::{cache_put, cached};

#[cached(key = "user:{id}", ttl = "0s")]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[cache_put(key = "user:{id}", ttl = "0d")]
async fn put(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
    let _ = put(1);
}
