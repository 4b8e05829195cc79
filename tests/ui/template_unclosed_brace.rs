// A `{` that is never closed.

use cache_aside::cached;

#[cached(key = "user:{id")]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
}
