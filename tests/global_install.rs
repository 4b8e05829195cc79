//! `set_global_default` installs once; `global()` returns what was installed. Its own test
//! binary, because the global is per process.

use cache_aside::prelude::*;
use cache_aside::{ErrorCode, MemoryCache, SharedCache, set_global_default};

#[tokio::test]
async fn the_installed_cache_is_the_global_one_and_installs_once() {
    let mine = MemoryCache::new().with_prefix("app:");
    set_global_default(SharedCache::new(mine.clone())).unwrap();
    cache_aside::global().set("k", "v", None).await.unwrap();
    assert_eq!(mine.get("k").await.unwrap().as_deref(), Some("v"));

    let error = set_global_default(MemoryCache::new()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::AlreadyInitialized);
    assert!(error.message().contains("already installed"), "{error}");
    assert_eq!(
        cache_aside::global().get("k").await.unwrap().as_deref(),
        Some("v")
    );
}
