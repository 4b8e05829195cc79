// Methods with `cache = self.cache`: `&self`, and `&mut self` whose body mutates another
// field while the cache is borrowed, with `{self.field}` in the key.

use cache_aside::{MemoryCache, cache_put, cached, invalidate};

struct Repo {
    cache: MemoryCache,
    tenant: String,
    loads: u32,
}

impl Repo {
    #[cached(key = "{self.tenant}:user:{id}", ttl = 60, cache = self.cache)]
    async fn name(&self, id: u64) -> Result<String, std::io::Error> {
        Ok(format!("{}-{id}", self.tenant))
    }

    #[cached(key = "{self.tenant}:count:{id}", cache = self.cache)]
    async fn count(&mut self, id: u64) -> Option<u32> {
        self.loads += 1;
        Some(self.loads + u32::try_from(id).ok()?)
    }

    #[cache_put(key = "{self.tenant}:user:{id}", cache = self.cache)]
    async fn rename(&mut self, id: u64, name: String) -> Result<String, std::io::Error> {
        self.loads += 1;
        Ok(format!("{name}-{id}"))
    }

    #[invalidate(key = "{self.tenant}:user:{id}", cache = self.cache)]
    async fn remove(&mut self, id: u64) -> Result<(), std::io::Error> {
        self.loads += id as u32;
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut repo = Repo {
        cache: MemoryCache::new(),
        tenant: "acme".to_owned(),
        loads: 0,
    };
    assert_eq!(repo.name(1).await.unwrap(), "acme-1");
    assert_eq!(repo.count(1).await, Some(2));
    assert_eq!(repo.count(1).await, Some(2), "the second call is a hit");
    assert_eq!(repo.loads, 1);
    assert_eq!(repo.rename(1, "ada".to_owned()).await.unwrap(), "ada-1");
    assert_eq!(repo.name(1).await.unwrap(), "ada-1");
    repo.remove(1).await.unwrap();
    assert_eq!(repo.name(1).await.unwrap(), "acme-1");
}
