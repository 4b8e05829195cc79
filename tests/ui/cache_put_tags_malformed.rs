// `tags` on `#[cache_put]` follow the rules of `#[cached]`'s: a list of at least one string
// literal, each a template over the parameters.

use cache_aside::cache_put;

#[cache_put(key = "user:{id}", tags = ["user:{id}", "team:{team}"])]
async fn save(id: u64) -> Option<u64> {
    Some(id)
}

#[cache_put(key = "user:{id}", tags = [])]
async fn save_untagged(id: u64) -> Option<u64> {
    Some(id)
}

#[cache_put(key = "user:{id}", tags = "user:{id}")]
async fn save_one(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = (save(1), save_untagged(1), save_one(1));
}
