// A `ttl` that does not fit: seconds beyond a u64, or a unit that overflows.

use cache_aside::cached;

#[cached(key = "a:{id}", ttl = 99999999999999999999)]
async fn seconds(id: u64) -> Option<u64> {
    Some(id)
}

#[cached(key = "b:{id}", ttl = "999999999999999999d")]
async fn days(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = seconds(1);
    let _ = days(1);
}
