// Malformed `tags`: not a list, an element that is not a string literal, an empty list;
// each is reported at the token at fault, on `#[cached]` and on `#[invalidate]`.

use cache_aside::{cached, invalidate};

#[cached(key = "a:{id}", tags = "user:{id}")]
async fn not_a_list(id: u64) -> u64 {
    id
}

#[cached(key = "b:{id}", tags = ["user:{id}", id, 7])]
async fn not_strings(id: u64) -> u64 {
    id
}

#[cached(key = "c:{id}", tags = [])]
async fn empty(id: u64) -> u64 {
    id
}

#[invalidate(tags = ["user:{id}", user])]
async fn forget(id: u64, user: &str) -> Result<(), String> {
    let _ = (id, user);
    Ok(())
}

#[invalidate(tags = [])]
async fn forget_nothing(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

fn main() {
    let _ = (not_a_list(1), not_strings(1), empty(1), forget(1, "a"), forget_nothing(1));
}
