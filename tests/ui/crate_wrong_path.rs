// `crate` naming a path that is not the cache-aside crate.

use cache_aside::cached;

#[cached(key = "user:{id}", crate = "no_such_crate")]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
}
