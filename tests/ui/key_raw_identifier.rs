// A parameter with a raw identifier cannot be named in a key, with or without `r#`.

use cache_aside::cached;

#[cached(key = "kind:{type}")]
async fn kind(r#type: u32) -> u32 {
    r#type
}

#[cached(key = "kind:{r#type}")]
async fn kind_raw(r#type: u32) -> u32 {
    r#type
}

fn main() {
    let _ = kind(1);
    let _ = kind_raw(1);
}
