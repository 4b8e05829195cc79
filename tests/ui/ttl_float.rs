// `ttl` in fractional seconds.

use cache_aside::cached;

#[cached(key = "user:{id}", ttl = 1.5)]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
}
