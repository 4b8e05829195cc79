// A placeholder in the key of a function without parameters.

use cache_aside::cached;

#[cached(key = "config:{id}")]
async fn config() -> Option<String> {
    None
}

fn main() {
    let _ = config();
}
