//! The port as application code sees it: a user-written adapter plugs in, every handle
//! offers the same methods, and every future is `Send`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{CacheError, MemoryCache, SharedCache, get_or_load};

/// A user-written adapter: a decorator that counts reads, over any other cache.
#[derive(Clone)]
struct CountingCache<C> {
    inner: C,
    reads: Arc<AtomicUsize>,
}

impl<C: Cache> Cache for CountingCache<C> {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        self.inner.set(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        self.inner.delete(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        self.inner.exists(key).await
    }
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        self.inner.expire(key, ttl).await
    }
    async fn increment(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        self.inner.increment(key, amount).await
    }
    async fn decrement(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        self.inner.decrement(key, amount).await
    }
    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        self.inner.ttl(key).await
    }
    async fn flush(&self) -> Result<(), CacheError> {
        self.inner.flush().await
    }
    async fn ping(&self) -> Result<(), CacheError> {
        self.inner.ping().await
    }
    async fn delete_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
        self.inner.delete_pattern(pattern).await
    }
    async fn get_many(&self, keys: &[&str]) -> Result<HashMap<String, Option<String>>, CacheError> {
        self.inner.get_many(keys).await
    }
    async fn set_many(
        &self,
        entries: &[(&str, &str)],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        self.inner.set_many(entries, ttl).await
    }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

/// Generic application code: compiles only if every future is `Send` for any `C: Cache`.
async fn exercise<C: Cache + Clone + 'static>(cache: C) {
    let spawned = tokio::spawn({
        let cache = cache.clone();
        async move {
            cache.set("k", "1", None).await.unwrap();
            cache
                .set_json("j", &[1, 2], Some(Duration::from_secs(60)))
                .await
                .unwrap();
            let _: Option<Vec<u8>> = cache.get_json("j").await.unwrap();
            cache.increment("k", 1).await.unwrap();
            cache.decrement("k", 1).await.unwrap();
            cache.expire("k", Duration::from_secs(60)).await.unwrap();
            cache.ttl("k").await.unwrap();
            cache.exists("k").await.unwrap();
            cache.get_many(&["k", "j"]).await.unwrap();
            cache.set_many(&[("a", "1")], None).await.unwrap();
            cache.delete_pattern("a*").await.unwrap();
            cache.delete("j").await.unwrap();
            cache.ping().await.unwrap();
            cache.get("k").await.unwrap()
        }
    });
    assert_eq!(spawned.await.unwrap().as_deref(), Some("1"));
    assert_send(cache.flush()).await.unwrap();
}

#[tokio::test]
async fn every_handle_offers_the_whole_port_with_send_futures() {
    exercise(MemoryCache::new()).await;
    exercise(SharedCache::new(MemoryCache::new())).await;
    exercise(Arc::new(MemoryCache::new())).await;
    exercise(cache_aside::global().clone()).await;
}

#[tokio::test]
async fn a_user_written_adapter_plugs_in_everywhere() {
    let reads = Arc::new(AtomicUsize::new(0));
    let custom = CountingCache {
        inner: MemoryCache::new(),
        reads: reads.clone(),
    };
    exercise(custom.clone()).await;

    // Held as "some cache", as application code would.
    let shared: SharedCache = SharedCache::new(custom);
    let value: Result<u32, ()> = get_or_load(&shared, "n", None, || async { Ok(9) }).await;
    assert_eq!(value, Ok(9));
    let value: Result<u32, ()> = get_or_load(&shared, "n", None, || async { Err(()) }).await;
    assert_eq!(
        value,
        Ok(9),
        "the second call is a hit through the user's adapter"
    );
    assert!(reads.load(Ordering::Relaxed) >= 3);
}

#[test]
fn wrapping_a_shared_cache_does_not_nest_handles() {
    let shared = SharedCache::new(MemoryCache::new());
    let again = SharedCache::new(shared.clone());
    // Same debug output is all we can see; what matters is that it still works as the same store.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        shared.set("k", "v", None).await.unwrap();
        assert_eq!(again.get("k").await.unwrap().as_deref(), Some("v"));
    });
}

/// A zero-sized adapter: every value of it reaches the same store.
struct Unit<const N: u8>;

impl<const N: u8> Cache for Unit<N> {
    async fn get(&self, _: &str) -> Result<Option<String>, CacheError> {
        Ok(None)
    }
    async fn set(&self, _: &str, _: &str, _: Option<Duration>) -> Result<(), CacheError> {
        Ok(())
    }
    async fn delete(&self, _: &str) -> Result<bool, CacheError> {
        Ok(false)
    }
    async fn exists(&self, _: &str) -> Result<bool, CacheError> {
        Ok(false)
    }
    async fn expire(&self, _: &str, _: Duration) -> Result<bool, CacheError> {
        Ok(false)
    }
    async fn increment(&self, _: &str, amount: i64) -> Result<i64, CacheError> {
        Ok(amount)
    }
    async fn decrement(&self, _: &str, amount: i64) -> Result<i64, CacheError> {
        Ok(-amount)
    }
    async fn ttl(&self, _: &str) -> Result<Option<Duration>, CacheError> {
        Ok(None)
    }
    async fn flush(&self) -> Result<(), CacheError> {
        Ok(())
    }
    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
    async fn delete_pattern(&self, _: &str) -> Result<u64, CacheError> {
        Ok(0)
    }
    async fn get_many(&self, _: &[&str]) -> Result<HashMap<String, Option<String>>, CacheError> {
        Ok(HashMap::new())
    }
    async fn set_many(&self, _: &[(&str, &str)], _: Option<Duration>) -> Result<(), CacheError> {
        Ok(())
    }
}

/// Single flight shares a load only between calls on caches of one identity: handles onto
/// one view agree, different views and different stores differ.
#[test]
fn identities_follow_the_store_not_the_handle() {
    let memory = MemoryCache::new();
    let clone = memory.clone();
    assert_eq!(memory.identity(), clone.identity(), "clones share a view");
    assert_eq!(memory.identity(), Cache::identity(&&memory));
    assert_eq!(memory.identity(), Arc::new(memory.clone()).identity());
    assert_eq!(memory.identity(), SharedCache::new(clone).identity());
    assert_ne!(memory.identity(), memory.with_prefix("a:").identity());
    assert_ne!(memory.identity(), MemoryCache::new().identity());
    assert_eq!(Unit::<1>.identity(), Unit::<1>.identity());
    assert_ne!(
        Unit::<1>.identity(),
        Unit::<2>.identity(),
        "two zero-sized adapters"
    );

    // Built lazily: no server is needed to compare handles.
    let redis = cache_aside::RedisCache::new("redis://127.0.0.1:1").unwrap();
    assert_eq!(redis.identity(), redis.clone().identity());
    assert_ne!(redis.identity(), redis.with_prefix("a:").identity());
}
