// `cache_none = true` on functions that return neither `Option<T>` nor `Result<Option<T>, E>`.

use cache_aside::{cache_put, cached};

#[cached(key = "user:{id}", cache_none = true)]
async fn user(id: u64) -> Result<u64, String> {
    Ok(id)
}

#[cache_put(key = "user:{id}", cache_none = true)]
async fn put(id: u64) -> u64 {
    id
}

fn main() {
    let _ = user(1);
    let _ = put(1);
}
