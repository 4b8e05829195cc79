// The attributes work on `async fn` only: the error is at `fn`.

use cache_aside::{cache_put, cached, invalidate};

#[cached(key = "user:{id}")]
fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[cache_put(key = "user:{id}")]
pub fn put(id: u64) -> Option<u64> {
    Some(id)
}

#[invalidate(key = "user:{id}")]
fn forget(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

fn main() {
    let _: Option<u64> = user(1);
    let _: Option<u64> = put(1);
    let _: Result<(), String> = forget(1);
}
