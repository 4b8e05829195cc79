// A `Result<Option<T>, E>` whose stored part is not serde-able: the error is at `T`, or with
// `cache_none = true` (which stores the `Option<T>`) at `Option<T>`.

use cache_aside::{cache_put, cached};

struct User {
    id: u64,
}

#[cached(key = "a:{id}")]
async fn find(id: u64) -> Result<Option<User>, String> {
    Ok(Some(User { id }))
}

#[cache_put(key = "b:{id}", cache_none = true)]
async fn put(id: u64) -> Result<Option<User>, std::io::Error> {
    Ok(Some(User { id }))
}

fn main() {
    let _ = find(1);
    let _ = put(1);
}
