// `crate` with a string that is not a path.

use cache_aside::cached;

#[cached(key = "user:{id}", crate = "my cache")]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

#[cached(key = "other:{id}", crate = "")]
async fn other(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
    let _ = other(1);
}
