// A return type whose cached part is not serde-able: the error is at that type.

use cache_aside::{cache_put, cached};

struct User {
    id: u64,
}

#[cached(key = "a:{id}")]
async fn result(id: u64) -> Result<User, std::io::Error> {
    Ok(User { id })
}

#[cached(key = "b:{id}")]
async fn option(id: u64) -> Option<User> {
    Some(User { id })
}

#[cached(key = "c:{id}", cache_none = true)]
async fn option_with_none(id: u64) -> Option<User> {
    Some(User { id })
}

#[cached(key = "d:{id}")]
async fn plain(id: u64) -> User {
    User { id }
}

#[cache_put(key = "d:{id}")]
async fn put(id: u64) -> Vec<User> {
    vec![User { id }]
}

fn main() {
    let _ = result(1);
    let _ = option(1);
    let _ = option_with_none(1);
    let _ = plain(1);
    let _ = put(1);
}
