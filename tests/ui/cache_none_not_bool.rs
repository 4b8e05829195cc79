// `cache_none` takes `true` or `false`.

use cache_aside::cached;

#[cached(key = "user:{id}", cache_none = "yes")]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[cached(key = "other:{id}", cache_none = 1)]
async fn other(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
    let _ = other(1);
}
