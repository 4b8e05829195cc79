// The futures of annotated functions are `Send` whenever the original's would be: they
// can be spawned on a multi-threaded runtime.

use cache_aside::{MemoryCache, cache_put, cached, invalidate};

fn assert_send<T: Send>(_: T) {}

#[cached(key = "r:{id}")]
async fn result(id: u64) -> Result<String, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(id.to_string())
}

#[cached(key = "o:{id}", cache_none = true)]
async fn option(id: u64) -> Option<u64> {
    Some(id)
}

#[cached]
async fn plain(id: u64, name: String) -> Vec<String> {
    vec![id.to_string(), name]
}

#[cache_put(key = "r:{id}")]
async fn put(id: u64) -> Result<String, std::io::Error> {
    Ok(id.to_string())
}

#[invalidate(pattern = "r:{id}*")]
async fn forget(id: u64) -> Result<(), std::io::Error> {
    let _ = id;
    Ok(())
}

struct Service {
    cache: MemoryCache,
}

impl Service {
    #[cached(key = "s:{id}", cache = self.cache, condition = id > 0)]
    async fn method(&self, id: u64) -> Result<u64, String> {
        Ok(id)
    }
}

#[tokio::main]
async fn main() {
    assert_send(result(1));
    assert_send(option(1));
    assert_send(plain(1, String::new()));
    assert_send(put(1));
    assert_send(forget(1));
    let service = Service {
        cache: MemoryCache::new(),
    };
    assert_send(service.method(1));
    let spawned = tokio::spawn(async move { service.method(4).await });
    assert_eq!(spawned.await.unwrap(), Ok(4));
    assert_eq!(tokio::spawn(result(2)).await.unwrap().unwrap(), "2");
}
