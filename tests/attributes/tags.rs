//! Tags: `#[cached(tags = [...])]` records each entry under its tags, and
//! `#[invalidate(tags = [...])]` or `Cache::invalidate_tags` deletes them together.

use std::sync::atomic::{AtomicUsize, Ordering};

use cache_aside::prelude::*;
use cache_aside::{SharedCache, cached, invalidate, stats_for};
use serde::{Deserialize, Serialize};

use crate::support::backend::Backend;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub user: u64,
    pub page: u32,
    pub version: usize,
}

pub struct Orders {
    cache: SharedCache,
    ns: String,
    loads: AtomicUsize,
}

impl Orders {
    #[cached(
        key = "{self.ns}:user:{id}:orders:{page}",
        ttl = 600,
        tags = ["{self.ns}:user:{id}", "{self.ns}:orders"],
        cache = self.cache
    )]
    async fn orders(&self, id: u64, page: u32) -> Result<Vec<Order>, String> {
        let version = self.loads.fetch_add(1, Ordering::SeqCst);
        Ok(vec![Order {
            user: id,
            page,
            version,
        }])
    }

    #[invalidate(tags = ["{self.ns}:user:{id}"], cache = self.cache)]
    async fn place_order(&self, id: u64, fail: bool) -> Result<(), String> {
        if fail {
            return Err("refused".into());
        }
        Ok(())
    }

    fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

pub async fn tags_delete_what_was_cached_under_them(b: Backend) {
    let orders = Orders {
        cache: b.cache.clone(),
        ns: b.ns.clone(),
        loads: AtomicUsize::new(0),
    };
    for (id, page) in [(1, 1), (1, 2), (2, 1)] {
        orders.orders(id, page).await.unwrap();
    }
    assert_eq!(orders.loads(), 3);
    orders.orders(1, 1).await.unwrap();
    assert_eq!(orders.loads(), 3, "a hit");

    // A failed body invalidates nothing.
    assert!(orders.place_order(1, true).await.is_err());
    assert!(b.stored(&b.key("user:1:orders:1")).await.is_some());

    orders.place_order(1, false).await.unwrap();
    assert_eq!(b.stored(&b.key("user:1:orders:1")).await, None);
    assert_eq!(b.stored(&b.key("user:1:orders:2")).await, None);
    assert!(
        b.stored(&b.key("user:2:orders:1")).await.is_some(),
        "another user's tag"
    );
    let stats = stats_for(concat!(module_path!(), "::place_order")).expect("place_order ran");
    assert!(stats.invalidations >= 1, "{stats:?}");

    // The next read loads afresh, and is recorded under the tag again.
    assert_eq!(orders.orders(1, 1).await.unwrap()[0].version, 3);
    orders.place_order(1, false).await.unwrap();
    assert_eq!(b.stored(&b.key("user:1:orders:1")).await, None);

    // The runtime API, on any tag the entries were recorded under.
    orders.orders(1, 1).await.unwrap();
    let tag = b.key("orders");
    assert_eq!(b.cache.invalidate_tags(&[&tag]).await.unwrap(), 2);
    assert_eq!(b.stored(&b.key("user:2:orders:1")).await, None);
    assert_eq!(b.stored(&b.key("user:1:orders:1")).await, None);
}

/// A stored value that does not decode is replaced under a lease like any miss, so the
/// replacement is recorded under its tags and a tag invalidation deletes it.
pub async fn an_undecodable_value_is_replaced_under_its_tags(b: Backend) {
    let orders = Orders {
        cache: b.cache.clone(),
        ns: b.ns.clone(),
        loads: AtomicUsize::new(0),
    };
    let key = format!("{}:user:9:orders:1", b.ns);
    b.cache.set(&key, "not json", None).await.unwrap();
    let first = orders.orders(9, 1).await.unwrap();
    assert_eq!(first[0].version, 0, "the bad value was a miss");
    assert_eq!(orders.orders(9, 1).await.unwrap(), first, "and is replaced");
    orders.place_order(9, false).await.unwrap();
    assert_eq!(
        b.cache.get(&key).await.unwrap(),
        None,
        "the replacement was under the tag"
    );
    assert_eq!(orders.orders(9, 1).await.unwrap()[0].version, 1);
}
