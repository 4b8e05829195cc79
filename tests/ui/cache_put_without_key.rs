// `#[cache_put]` needs the key it writes: it has no default key.

use cache_aside::cache_put;

#[cache_put]
async fn put(id: u64) -> Option<u64> {
    Some(id)
}

#[cache_put(ttl = 60)]
async fn put_with_ttl(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = put(1);
    let _ = put_with_ttl(1);
}
