// Arguments that do not parse as `name = value, ...`.

use cache_aside::{cached, invalidate};

#[cached(key = "user:{id}" ttl = 60)]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[invalidate("user:{id}")]
async fn forget(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

fn main() {
    let _ = user(1);
    let _ = forget(1);
}
