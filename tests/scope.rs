//! `cache_aside::scope`: a cache per test (or per scope) for the attributes that name no
//! `cache = ...`, and `NoCache`, which stores nothing. Its own test binary: what it checks
//! about the process-wide cache needs a process whose other tests do not use it.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{MemoryCache, NoCache, RedisCache, cache_put, cached, invalidate, scope};
use support::RedisServer;

/// One key for every caller: which value a call gets says which cache it reached.
#[cached(key = "scope:shared", ttl = 60)]
async fn shared(value: &str, runs: &AtomicUsize) -> String {
    runs.fetch_add(1, Ordering::SeqCst);
    value.to_owned()
}

/// Two tests (`one_test_*` and `another_test_*`) call `shared` with values of their own:
/// without a scope each, the second to run would get the first one's value from the
/// process-wide cache, and neither would find its entry in its own cache.
async fn a_test_with_its_own_cache(value: &str) {
    let cache = MemoryCache::new();
    let runs = AtomicUsize::new(0);
    scope(cache.clone(), async {
        assert_eq!(shared(value, &runs).await, value);
        assert_eq!(shared(value, &runs).await, value);
    })
    .await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the second call hit");
    assert_eq!(
        cache.get("scope:shared").await.unwrap(),
        Some(format!("{value:?}")),
        "the entry is in the test's own cache"
    );
    assert_eq!(
        cache_aside::global().get("scope:shared").await.unwrap(),
        None,
        "the process-wide cache is untouched"
    );
}

#[tokio::test]
async fn one_test_with_its_own_cache() {
    a_test_with_its_own_cache("one").await;
}

#[tokio::test]
async fn another_test_with_its_own_cache() {
    a_test_with_its_own_cache("another").await;
}

#[cached(key = "scope:where:{tag}")]
async fn where_am_i(tag: &'static str) -> String {
    tag.to_owned()
}

/// A spawned task runs outside the scope, on the process-wide cache, unless what is spawned
/// is wrapped in a scope of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_tasks_do_not_inherit_the_scope() {
    let cache = MemoryCache::new();
    scope(cache.clone(), async {
        assert_eq!(where_am_i("inside").await, "inside");
        let spawned = tokio::spawn(where_am_i("spawned"));
        assert_eq!(spawned.await.unwrap(), "spawned");
        let passed_on = tokio::spawn(scope(cache.clone(), where_am_i("passed on")));
        assert_eq!(passed_on.await.unwrap(), "passed on");
    })
    .await;
    let global = cache_aside::global();
    for (tag, in_scope) in [("inside", true), ("spawned", false), ("passed on", true)] {
        let key = format!("scope:where:{tag}");
        let (scoped, global) = (
            cache.exists(&key).await.unwrap(),
            global.exists(&key).await.unwrap(),
        );
        assert_eq!((scoped, global), (in_scope, !in_scope), "{tag}");
    }
}

#[cached(key = "scope:nested")]
async fn nested(value: &'static str) -> String {
    value.to_owned()
}

/// The innermost scope wins while it runs; the outer one is back when it ends.
#[tokio::test]
async fn nested_scopes() {
    let (outer, inner) = (MemoryCache::new(), MemoryCache::new());
    scope(outer.clone(), async {
        assert_eq!(nested("outer").await, "outer");
        let from_inner = scope(inner.clone(), async { nested("inner").await }).await;
        assert_eq!(from_inner, "inner", "the inner cache was empty");
        assert_eq!(
            nested("outer again").await,
            "outer",
            "a hit in the outer cache"
        );
    })
    .await;
    assert_eq!(
        outer.get("scope:nested").await.unwrap().as_deref(),
        Some(r#""outer""#)
    );
    assert_eq!(
        inner.get("scope:nested").await.unwrap().as_deref(),
        Some(r#""inner""#)
    );
}

struct Named {
    cache: MemoryCache,
}

impl Named {
    #[cached(key = "scope:named", cache = self.cache)]
    async fn read(&self) -> u8 {
        1
    }
}

#[cache_put(key = "scope:put")]
async fn put(value: u8) -> u8 {
    value
}

#[invalidate(key = "scope:put")]
async fn forget() {}

/// `#[cache_put]` and `#[invalidate]` follow the scope too; `cache = ...` wins over it.
#[tokio::test]
async fn every_attribute_follows_the_scope_unless_it_names_its_cache() {
    let (scoped, named) = (
        MemoryCache::new(),
        Named {
            cache: MemoryCache::new(),
        },
    );
    scope(scoped.clone(), async {
        assert_eq!(put(3).await, 3);
        assert_eq!(scoped.get("scope:put").await.unwrap().as_deref(), Some("3"));
        forget().await;
        assert_eq!(scoped.get("scope:put").await.unwrap(), None);
        assert_eq!(named.read().await, 1);
    })
    .await;
    assert!(named.cache.exists("scope:named").await.unwrap());
    assert!(!scoped.exists("scope:named").await.unwrap());
}

#[cached(key = "scope:nothing", ttl = 60)]
async fn counted(runs: &AtomicUsize) -> usize {
    runs.fetch_add(1, Ordering::SeqCst) + 1
}

/// With `NoCache`, every call runs the body, and the write that follows is dropped.
#[tokio::test]
async fn with_no_cache_every_call_runs_the_body() {
    let runs = AtomicUsize::new(0);
    scope(NoCache, async {
        for expected in 1..=3 {
            assert_eq!(counted(&runs).await, expected);
        }
    })
    .await;
    let stats = cache_aside::stats_for("scope::counted").expect("it ran");
    assert_eq!(
        (stats.hits, stats.misses, stats.loads, stats.errors),
        (0, 3, 3, 0)
    );
    assert_eq!(
        cache_aside::global().get("scope:nothing").await.unwrap(),
        None
    );
}

#[cached(key = "scope:redis:{id}", ttl = 60)]
async fn on_redis(id: u32) -> u32 {
    id
}

/// A scope takes any cache `set_global_default` takes: a `RedisCache` here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_on_redis() {
    let server = RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .op_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert_eq!(scope(cache.clone(), on_redis(7)).await, 7);
    assert_eq!(
        cache.get("scope:redis:7").await.unwrap().as_deref(),
        Some("7")
    );
    assert_eq!(
        cache_aside::global().get("scope:redis:7").await.unwrap(),
        None
    );
}
