// `tags` on `#[cached]` and `#[invalidate]`, with parameters, fields and `self`; `lease`
// in every form `ttl` takes; the runtime's `invalidate_tags`.

use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{MemoryCache, cached, invalidate};

#[derive(serde::Serialize, serde::Deserialize)]
struct Order {
    id: u64,
}

struct NewOrder {
    shop: String,
}

#[cached(key = "user:{id}:orders:{page}", ttl = 600, tags = ["user:{id}"])]
async fn orders(id: u64, page: u32) -> Result<Vec<Order>, String> {
    Ok(vec![Order { id: id + u64::from(page) }])
}

#[invalidate(tags = ["user:{id}", "shop:{order.shop}"])]
async fn place_order(id: u64, order: NewOrder) -> Result<(), String> {
    let _ = (id, order);
    Ok(())
}

#[invalidate(key = "stats", tags = ["a"], tags = ["b", "c"], pattern = "x:*")]
async fn several(id: u64) -> u64 {
    id
}

struct Shop {
    name: String,
    cache: MemoryCache,
}

impl Shop {
    #[cached(key = "{self.name}:item:{id}", tags = ["{self.name}", "item:{id}"], lease = "2s", cache = self.cache)]
    async fn item(&self, id: u64) -> u64 {
        id
    }

    #[cached(key = "{self.name}:fast:{id}", lease = 1, cache = self.cache)]
    async fn fast(&self, id: u64) -> u64 {
        id
    }

    #[cached(key = "{self.name}:slow:{id}", lease = Duration::from_millis(1500), cache = self.cache)]
    async fn slow(&self, id: u64) -> u64 {
        id
    }

    #[invalidate(tags = ["{self.name}"], cache = self.cache)]
    async fn clear(&self) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    orders(1, 2).await.unwrap();
    place_order(1, NewOrder { shop: "s".into() }).await.unwrap();
    several(1).await;
    let shop = Shop { name: "s".into(), cache: MemoryCache::new() };
    assert_eq!(shop.item(3).await, 3);
    assert_eq!(shop.fast(3).await + shop.slow(3).await, 6);
    shop.clear().await;
    assert_eq!(shop.cache.get("s:item:3").await.unwrap(), None);
    assert_eq!(shop.cache.invalidate_tags(&["item:3"]).await.unwrap(), 0);
}
