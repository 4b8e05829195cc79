// An argument the attribute does not take: the error lists the ones it does.

use cache_aside::{cache_put, cached, invalidate};

#[cached(key = "user:{id}", tll = 60)]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[cache_put(key = "user:{id}", condition = id > 0)]
async fn put(id: u64) -> Option<u64> {
    Some(id)
}

#[invalidate(key = "user:{id}", ttl = 60)]
async fn forget(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

fn main() {
    let _ = user(1);
    let _ = put(1);
    let _ = forget(1);
}
