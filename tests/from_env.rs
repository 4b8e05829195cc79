//! `from_env()` picks a Redis Cluster from `REDIS_CLUSTER_NODES`, else Redis from
//! `REDIS_URL`, else memory. One test in its own binary, because it changes the process
//! environment.

mod support;

use cache_aside::prelude::*;
use cache_aside::{ErrorCode, RedisCache, from_env};
use support::RedisServer;
use support::cluster::RedisCluster;

fn set_redis_url(value: Option<&str>) {
    set("REDIS_URL", value);
}

fn set(name: &str, value: Option<&str>) {
    // SAFETY: this binary has a single test, and it sets the variable before it starts any
    // runtime or thread of its own, so nothing reads the environment concurrently.
    #[allow(unsafe_code)]
    unsafe {
        match value {
            Some(value) => std::env::set_var(name, value),
            None => std::env::remove_var(name),
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

    // The cluster wins over REDIS_URL (still invalid here) when it lists seeds.
    let cluster = RedisCluster::start();
    set(
        "REDIS_CLUSTER_NODES",
        Some(&format!(" {} , ", cluster.seeds().join(","))),
    );
    let on_cluster = from_env().unwrap();
    set("REDIS_CLUSTER_NODES", Some("redis://127.0.0.1:1,not a url"));
    assert_eq!(from_env().unwrap_err().code(), ErrorCode::Config);
    set("REDIS_CLUSTER_NODES", Some(" "));
    assert_eq!(
        from_env().unwrap_err().code(),
        ErrorCode::Config,
        "blank: REDIS_URL decides again"
    );
    set("REDIS_CLUSTER_NODES", None);

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

        on_cluster
            .set("written-through-the-cluster", "c", None)
            .await
            .unwrap();
        let seeds = cluster.seeds();
        let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
        let direct = RedisCache::cluster(&seeds).unwrap();
        assert_eq!(
            direct
                .get("written-through-the-cluster")
                .await
                .unwrap()
                .as_deref(),
            Some("c")
        );
        assert_eq!(
            cluster.raw().get("written-through-the-cluster").as_deref(),
            Some("c"),
            "on the cluster itself"
        );
    });
}
