// Trait impl methods: the trait declares `async fn`, the impl's methods carry the
// attributes.

use cache_aside::{MemoryCache, cache_put, cached, invalidate};

trait Users {
    async fn name(&self, id: u64) -> Result<String, String>;
    async fn rename(&self, id: u64, name: String) -> Result<String, String>;
    async fn remove(&self, id: u64) -> Result<(), String>;
}

struct Store {
    cache: MemoryCache,
}

impl Users for Store {
    #[cached(key = "user:{id}", cache = self.cache)]
    async fn name(&self, id: u64) -> Result<String, String> {
        Ok(format!("user {id}"))
    }

    #[cache_put(key = "user:{id}", cache = self.cache)]
    async fn rename(&self, id: u64, name: String) -> Result<String, String> {
        let _ = id;
        Ok(name)
    }

    #[invalidate(key = "user:{id}", cache = self.cache)]
    async fn remove(&self, id: u64) -> Result<(), String> {
        let _ = id;
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let store = Store {
        cache: MemoryCache::new(),
    };
    assert_eq!(store.name(7).await.unwrap(), "user 7");
    store.rename(7, "ada".to_owned()).await.unwrap();
    assert_eq!(store.name(7).await.unwrap(), "ada");
    store.remove(7).await.unwrap();
    assert_eq!(store.name(7).await.unwrap(), "user 7");
}
