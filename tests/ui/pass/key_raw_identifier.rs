// A parameter or a field with a raw identifier can be named in a key, with or without `r#`.

use cache_aside::cached;

struct Item {
    r#type: u32,
}

#[cached(key = "kind:{type}")]
async fn kind(r#type: u32) -> u32 {
    r#type
}

#[cached(key = "kind:{r#type}:{item.type}")]
async fn kind_raw(r#type: u32, item: &Item) -> u32 {
    r#type + item.r#type
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    cache_aside::set_global_default(cache_aside::MemoryCache::new()).unwrap();
    assert_eq!(kind(1).await, 1);
    assert_eq!(kind_raw(1, &Item { r#type: 2 }).await, 3);
    use cache_aside::prelude::*;
    let cache = cache_aside::global();
    assert_eq!(cache.get("kind:1").await.unwrap().as_deref(), Some("1"));
    assert_eq!(cache.get("kind:1:2").await.unwrap().as_deref(), Some("3"));
}
