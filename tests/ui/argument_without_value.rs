// A flag without `= value`.

use cache_aside::{cache_put, cached};

#[cached(cache_none)]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[cache_put(key)]
async fn put(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
    let _ = put(1);
}
