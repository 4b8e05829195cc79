// A `ttl` closure takes one argument, the stored value; `lease` takes no closure at all,
// since the lease is taken before the body runs.

use std::time::Duration;

use cache_aside::cached;

#[cached(key = "a:{id}", ttl = || Duration::from_secs(60))]
async fn none(id: u64) -> u64 {
    id
}

#[cached(key = "b:{id}", ttl = |value: &u64, id: u64| Duration::from_secs(*value + id))]
async fn two(id: u64) -> u64 {
    id
}

#[cached(key = "c:{id}", lease = |value: &u64| Duration::from_secs(*value))]
async fn lease(id: u64) -> u64 {
    id
}

fn main() {
    let _ = none(1);
    let _ = two(1);
    let _ = lease(1);
}
