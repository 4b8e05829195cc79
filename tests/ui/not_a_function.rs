// The attributes go on functions.

use cache_aside::{cached, invalidate};

#[cached(key = "config")]
struct Config {
    ttl: u64,
}

#[invalidate(key = "config")]
const LIMIT: u32 = 5;

fn main() {
    let _ = Config {
        ttl: u64::from(LIMIT),
    }
    .ttl;
}
