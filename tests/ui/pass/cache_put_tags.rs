// `tags` on `#[cache_put]`: the key it writes is recorded under them, as `#[cached]` records
// the keys it loads, with parameters, fields and `self`.

use cache_aside::prelude::*;
use cache_aside::{MemoryCache, cache_put, cached};

#[derive(serde::Serialize, serde::Deserialize)]
struct User {
    id: u64,
    team: String,
}

#[cached(key = "user:{id}", ttl = 600, tags = ["user:{id}"])]
async fn user(id: u64) -> Result<User, String> {
    Ok(User { id, team: "a".into() })
}

#[cache_put(key = "user:{id}", ttl = 600, tags = ["user:{id}", "team:{user.team}"])]
async fn save(id: u64, user: User) -> Result<User, String> {
    Ok(user)
}

struct Teams {
    name: String,
    cache: MemoryCache,
}

impl Teams {
    #[cache_put(key = "{self.name}:size", tags = ["{self.name}"], cache = self.cache)]
    async fn resize(&self, size: u64) -> u64 {
        size
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let saved = save(1, User { id: 1, team: "b".into() }).await.unwrap();
    assert_eq!(saved.id, 1);
    assert_eq!(user(1).await.unwrap().team, "b", "a hit on what the put wrote");
    let teams = Teams { name: "t".into(), cache: MemoryCache::new() };
    assert_eq!(teams.resize(3).await, 3);
    assert_eq!(teams.cache.get("t:size").await.unwrap().as_deref(), Some("3"));
}
