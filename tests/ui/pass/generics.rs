// Generic functions, with bounds inline and in a `where` clause, a generic cache and a
// generic cached type.

use std::fmt::Display;

use cache_aside::{Cache, MemoryCache, cache_put, cached, invalidate};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[cached(key = "describe:{id}")]
async fn describe<T>(id: T) -> Result<String, std::io::Error>
where
    T: Display + Send + Sync,
{
    Ok(format!("<{id}>"))
}

#[cached(key = "generic:{id}", cache = cache)]
async fn load<C, V>(cache: &C, id: u64, make: fn(u64) -> V) -> Option<V>
where
    C: Cache,
    V: Serialize + DeserializeOwned + Send,
{
    Some(make(id))
}

#[cached]
async fn default_key<K: Display + Send + Sync>(key: K, n: u32) -> u32 {
    let _ = key;
    n * 2
}

#[cache_put(key = "describe:{id}")]
async fn put<T: Display + Send + Sync>(id: T) -> Result<String, std::io::Error> {
    Ok(format!("[{id}]"))
}

#[invalidate(pattern = "describe:{id}*")]
async fn drop_all<T>(id: T) -> Result<(), std::io::Error>
where
    T: Display + Send + Sync,
{
    let _ = id.to_string();
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(describe(1).await.unwrap(), "<1>");
    assert_eq!(describe("1").await.unwrap(), "<1>", "one key, one value");
    put(1).await.unwrap();
    assert_eq!(describe(1).await.unwrap(), "[1]");
    drop_all(1).await.unwrap();
    assert_eq!(describe(1).await.unwrap(), "<1>");

    let cache = MemoryCache::new();
    assert_eq!(load(&cache, 3, |id| id * 10).await, Some(30));
    assert_eq!(load(&cache, 3, |id| id).await, Some(30), "a hit");
    assert_eq!(default_key("a", 2).await, 4);
}
