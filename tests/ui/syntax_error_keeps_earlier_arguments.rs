// A syntax error ends the arguments where it is: those before it are still checked, and
// nothing is reported missing, since it may come after the error.

use cache_aside::{cache_put, invalidate};

#[cache_put(ttl = 0, cache_none = 1 key = "user:{id}")]
async fn put(id: u64) -> Option<u64> {
    Some(id)
}

#[invalidate(cache = cache_aside::global() key = "user:{id}")]
async fn forget(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

fn main() {
    let _ = put(1);
    let _ = forget(1);
}
