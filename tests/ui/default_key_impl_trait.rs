// The default key is made of every parameter; an `impl Trait` one cannot be.

use cache_aside::cached;

#[cached]
async fn score(id: u64, weight: impl Fn(u64) -> u64 + Send) -> u64 {
    weight(id)
}

fn main() {
    let _ = score(1, |id| id);
}
