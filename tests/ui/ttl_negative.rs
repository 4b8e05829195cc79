// A negative `ttl`.

use cache_aside::cached;

#[cached(key = "user:{id}", ttl = -60)]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
}
