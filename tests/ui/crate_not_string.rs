// `crate` takes the path as a string literal.

use cache_aside::cached;

#[cached(key = "user:{id}", crate = 5)]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[cached(key = "other:{id}", crate = cache_aside)]
async fn other(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
    let _ = other(1);
}
