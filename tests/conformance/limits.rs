//! Size limits: a value or key over the limit is refused with its own code and stores
//! nothing, on both adapters alike.

use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{ErrorCode, MemoryCache, RedisCache};

use crate::support::RedisServer;

const MAX_VALUE: usize = 8;
const MAX_KEY: usize = 6;

async fn refuses_what_is_over_the_limits(cache: impl Cache) {
    cache.set("k", "12345678", None).await.unwrap();
    let error = cache.set("k", "123456789", None).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::ValueTooLarge, "{error}");
    assert_eq!(
        cache.get("k").await.unwrap().as_deref(),
        Some("12345678"),
        "the old value stays"
    );

    let error = cache
        .set_many(&[("a", "1"), ("b", "123456789")], None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::ValueTooLarge, "{error}");
    assert_eq!(
        cache.get("a").await.unwrap(),
        None,
        "none of them is stored"
    );

    // "p:" is the prefix: 2 + 4 bytes is the longest key.
    cache.set("four", "v", None).await.unwrap();
    for error in [
        cache.set("fives", "v", None).await.unwrap_err(),
        cache.get("fives").await.unwrap_err(),
    ] {
        assert_eq!(error.code(), ErrorCode::KeyTooLarge, "{error}");
        assert!(error.to_string().contains("7 bytes"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_refuses_what_is_over_the_limits() {
    let cache = MemoryCache::builder()
        .max_value_size(MAX_VALUE)
        .max_key_size(MAX_KEY)
        .build()
        .with_prefix("p:");
    refuses_what_is_over_the_limits(cache).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_refuses_what_is_over_the_limits() {
    let server = RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .op_timeout(Duration::from_secs(5))
        .max_value_size(MAX_VALUE)
        .max_key_size(MAX_KEY)
        .build()
        .unwrap()
        .with_prefix("p:");
    refuses_what_is_over_the_limits(cache).await;
}
