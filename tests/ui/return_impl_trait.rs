// `impl Trait` in the return type: the type that would be cached is not known.

use cache_aside::{cache_put, cached};

#[cached(key = "a:{id}")]
async fn plain(id: u64) -> impl std::fmt::Display {
    id
}

#[cache_put(key = "b:{id}")]
async fn in_result(id: u64) -> Result<impl serde::Serialize, String> {
    Ok(id)
}

fn main() {
    let _ = plain(1);
    let _ = in_result(1);
}
