// `ttl = 0`: an entry that expires at once; leaving `ttl` out is how to say "never".

use cache_aside::cached;

#[cached(key = "user:{id}", ttl = 0)]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
}
