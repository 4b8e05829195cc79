//! Methods on a service that holds its own cache: `cache = self.cache`, keys built from
//! `self`, a write-through with `#[cache_put]`, and invalidation after a write.
//!
//!     cargo run --example service
//!     REDIS_URL=redis://127.0.0.1:6379 cargo run --example service

use std::collections::HashMap;
use std::sync::Mutex;

use cache_aside::{SharedCache, cache_put, cached, invalidate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Product {
    sku: String,
    price_cents: u64,
}

#[derive(Debug, Clone)]
struct NotFound;

/// A catalogue for one tenant, with its database and its cache.
struct Catalogue {
    tenant: String,
    cache: SharedCache,
    database: Mutex<HashMap<String, u64>>,
    queries: Mutex<u32>,
}

impl Catalogue {
    /// Reads a product; a `NotFound` is returned but never cached.
    #[cached(key = "{self.tenant}:product:{sku}", ttl = "10m", cache = self.cache)]
    async fn product(&self, sku: &str) -> Result<Product, NotFound> {
        *self.queries.lock().map_err(|_| NotFound)? += 1;
        let price_cents = *self
            .database
            .lock()
            .map_err(|_| NotFound)?
            .get(sku)
            .ok_or(NotFound)?;
        Ok(Product {
            sku: sku.to_owned(),
            price_cents,
        })
    }

    /// Lists the SKUs of the catalogue; `Option` so that an empty catalogue is not cached.
    #[cached(key = "{self.tenant}:skus", ttl = 60, cache = self.cache)]
    async fn skus(&self) -> Option<Vec<String>> {
        let database = self.database.lock().ok()?;
        let mut skus: Vec<String> = database.keys().cloned().collect();
        skus.sort();
        (!skus.is_empty()).then_some(skus)
    }

    /// Changes a price and writes the new product to the cache at once.
    #[cache_put(key = "{self.tenant}:product:{sku}", ttl = "10m", cache = self.cache)]
    async fn set_price(&self, sku: &str, price_cents: u64) -> Result<Product, NotFound> {
        self.database
            .lock()
            .map_err(|_| NotFound)?
            .insert(sku.to_owned(), price_cents);
        Ok(Product {
            sku: sku.to_owned(),
            price_cents,
        })
    }

    /// Removes a product, then its cached entry and the cached list.
    #[invalidate(key = "{self.tenant}:product:{sku}", key = "{self.tenant}:skus", cache = self.cache)]
    async fn remove(&self, sku: &str) -> Result<(), NotFound> {
        self.database
            .lock()
            .map_err(|_| NotFound)?
            .remove(sku)
            .map(drop)
            .ok_or(NotFound)
    }

    fn queries(&self) -> u32 {
        self.queries.lock().map_or(0, |queries| *queries)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let catalogue = Catalogue {
        tenant: "acme".into(),
        cache: cache_aside::from_env()?,
        database: Mutex::new(HashMap::from([("tea".into(), 450), ("cake".into(), 300)])),
        queries: Mutex::new(0),
    };

    let tea = catalogue.product("tea").await.map_err(|_| "no tea")?;
    let again = catalogue.product("tea").await.map_err(|_| "no tea")?;
    assert_eq!(tea, again);
    println!(
        "product(tea) twice: {tea:?}, {} database query",
        catalogue.queries()
    );

    let dearer = catalogue
        .set_price("tea", 500)
        .await
        .map_err(|_| "no tea")?;
    let read = catalogue.product("tea").await.map_err(|_| "no tea")?;
    println!(
        "after set_price: {read:?} ({} queries in all)",
        catalogue.queries()
    );
    assert_eq!(read, dearer);

    println!("skus: {:?}", catalogue.skus().await);
    catalogue.remove("cake").await.map_err(|_| "no cake")?;
    println!("after remove(cake): skus {:?}", catalogue.skus().await);
    assert!(catalogue.product("cake").await.is_err());
    Ok(())
}
