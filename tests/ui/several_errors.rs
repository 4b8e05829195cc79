// Every problem of one attribute is reported at once, in the order of the source.

use cache_aside::cached;

#[cached(key = "user:{user_id}", ttl = 0, tll = 60, cache_none = true)]
fn user(id: u64) -> Result<u64, String> {
    Ok(id)
}

fn main() {
    let _ = user(1);
}
