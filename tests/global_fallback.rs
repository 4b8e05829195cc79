//! `global()` without `set_global_default`: a process-local memory cache, after which the
//! late installation is refused with a message that says why. Its own test binary, because
//! the global is per process.

use cache_aside::prelude::*;
use cache_aside::{ErrorCode, MemoryCache, set_global_default};

#[tokio::test]
async fn global_falls_back_to_memory_and_then_refuses_a_late_install() {
    let cache = cache_aside::global();
    cache.set("k", "v", None).await.unwrap();
    assert_eq!(
        cache_aside::global().get("k").await.unwrap().as_deref(),
        Some("v")
    );

    let error = set_global_default(MemoryCache::new()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::AlreadyInitialized);
    assert!(
        error.message().contains("before set_global_default"),
        "{error}"
    );
    // The cache callers already hold stays in place.
    assert_eq!(
        cache_aside::global().get("k").await.unwrap().as_deref(),
        Some("v")
    );
}
