// `lease` takes what `ttl` takes, and its errors name `lease`.

use cache_aside::cached;

#[cached(key = "a:{id}", lease = 0)]
async fn zero(id: u64) -> u64 {
    id
}

#[cached(key = "b:{id}", lease = "5 s")]
async fn malformed(id: u64) -> u64 {
    id
}

#[cached(key = "c:{id}", lease = 0.5)]
async fn fractional(id: u64) -> u64 {
    id
}

#[cached(key = "d:{id}", lease = "5")]
async fn no_unit(id: u64) -> u64 {
    id
}

const LEASE_MS: u64 = 500;

#[cached(key = "f:{id}", lease = LEASE_MS)]
async fn not_a_duration(id: u64) -> u64 {
    id
}

#[cached(key = "e:{id}", lease = std::time::Duration::from_secs(1), lease = "2s")]
async fn twice(id: u64) -> u64 {
    id
}

fn main() {
    let _ = (zero(1), malformed(1), fractional(1), no_unit(1), not_a_duration(1), twice(1));
}
