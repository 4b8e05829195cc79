//! `from_env()` picks Redis from `REDIS_URL`, else memory. One test in its own binary,
//! because it changes the process environment.

mod support;

use cache_aside::prelude::*;
use cache_aside::{ErrorCode, RedisCache, from_env};
use support::RedisServer;

fn set_redis_url(value: Option<&str>) {
    // SAFETY: this binary has a single test, and it sets the variable before it starts any
    // runtime or thread of its own, so nothing reads the environment concurrently.
    #[allow(unsafe_code)]
    unsafe {
        match value {
            Some(value) => std::env::set_var("REDIS_URL", value),
            None => std::env::remove_var("REDIS_URL"),
        }
    }
}

#[test]
fn redis_url_chooses_the_adapter() {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    set_redis_url(None);
    let memory = from_env().unwrap();
    set_redis_url(Some(""));
    let also_memory = from_env().unwrap();
    set_redis_url(Some(&server.url()));
    let redis = from_env().unwrap();
    set_redis_url(Some("definitely not a url"));
    assert_eq!(from_env().unwrap_err().code(), ErrorCode::Config);

    runtime.block_on(async {
        redis
            .set("written-through-from-env", "v", None)
            .await
            .unwrap();
        memory.set("only-in-memory", "v", None).await.unwrap();
        also_memory.ping().await.unwrap();
        let direct = RedisCache::new(&server.url()).unwrap();
        assert_eq!(
            direct
                .get("written-through-from-env")
                .await
                .unwrap()
                .as_deref(),
            Some("v")
        );
        assert_eq!(direct.get("only-in-memory").await.unwrap(), None);
    });
}
