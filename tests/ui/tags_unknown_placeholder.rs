// A tag's template names no parameter: the error is at that tag.

use cache_aside::{cached, invalidate};

#[cached(key = "user:{id}:orders:{page}", tags = ["user:{id}", "team:{team}"])]
async fn orders(id: u64, page: u32) -> Vec<u64> {
    vec![id, u64::from(page)]
}

#[invalidate(key = "user:{id}", tags = ["user:{user_id}"])]
async fn place_order(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

fn main() {
    let _ = (orders(1, 1), place_order(1));
}
