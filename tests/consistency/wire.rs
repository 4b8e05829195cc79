//! What leases and tags look like, and cost, on Redis: read behind the library's back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{RedisCache, cached};
use tokio::sync::Notify;

use crate::support::RedisServer;

fn cache(server: &RedisServer, prefix: &str) -> RedisCache {
    RedisCache::builder(server.url())
        .prefix(prefix)
        .op_timeout(Duration::from_secs(5))
        .build()
        .expect("the harness URL is valid")
}

/// Commands the server ran since the last `CONFIG RESETSTAT`, by name, leaving out the
/// test's own `CONFIG` and `INFO`.
fn commands(server: &RedisServer) -> BTreeMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut server.raw())
        .expect("INFO commandstats");
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .filter(|(name, _)| !name.starts_with("config") && name != "info")
        .collect()
}

fn reset_stats(server: &RedisServer) {
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query::<()>(&mut server.raw())
        .expect("CONFIG RESETSTAT");
}

#[cached(key = "user:{id}", ttl = 600, tags = ["users"], cache = cache)]
async fn user(cache: &RedisCache, id: u32) -> String {
    format!("user {id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_is_one_get_and_a_miss_pays_for_the_lease() {
    let server = RedisServer::start();
    let cache = cache(&server, "");
    cache.ping().await.unwrap(); // the connection's own set-up is not counted
    reset_stats(&server);
    assert_eq!(user(&cache, 1).await, "user 1");
    let miss = commands(&server);
    reset_stats(&server);
    assert_eq!(user(&cache, 1).await, "user 1");
    let hit = commands(&server);
    println!("wire: a miss ran {miss:?}; a hit ran {hit:?}");
    assert_eq!(
        hit,
        BTreeMap::from([("get".to_owned(), 1)]),
        "a hit is one GET"
    );
    // Commands inside the script count too: its GET and SET.
    assert_eq!(
        miss.get("set"),
        Some(&2),
        "SET NX takes the lease, the script's SET stores"
    );
    assert_eq!(miss.get("zadd"), Some(&1), "one ZADD records the tag");
    assert!(
        miss.contains_key("evalsha"),
        "the value is stored by the script"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_is_a_sorted_set_that_outlives_its_entries_and_no_pattern_matches() {
    let server = RedisServer::start();
    let cache = cache(&server, "app:");
    user(&cache, 7).await;
    let mut raw = server.raw();
    let tag_key = b"app:\xFFcache-aside:tag:users".to_vec();
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(&tag_key)
        .arg(0)
        .arg(-1)
        .query(&mut raw)
        .unwrap();
    assert_eq!(members, ["app:user:7"]);
    let tag_ttl: i64 = redis::cmd("PTTL").arg(&tag_key).query(&mut raw).unwrap();
    let value_ttl: i64 = redis::cmd("PTTL")
        .arg("app:user:7")
        .query(&mut raw)
        .unwrap();
    println!("wire: tag set PTTL {tag_ttl} ms, entry PTTL {value_ttl} ms");
    assert!(tag_ttl >= value_ttl, "the tag's set outlives its entry");
    assert_eq!(
        cache.delete_pattern("*").await.unwrap(),
        1,
        "only the entry"
    );
    let exists: bool = redis::cmd("EXISTS").arg(&tag_key).query(&mut raw).unwrap();
    assert!(exists, "patterns leave tags' sets alone");
    cache.flush().await.unwrap();
    let exists: bool = redis::cmd("EXISTS").arg(&tag_key).query(&mut raw).unwrap();
    assert!(!exists, "a flush deletes them");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_is_a_marker_that_get_does_not_return() {
    let server = RedisServer::start();
    let cache = cache(&server, "");
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));

    #[cached(key = "held", cache = cache)]
    async fn held(cache: &RedisCache, entered: &Notify, release: &Notify) -> u32 {
        entered.notify_one();
        release.notified().await;
        1
    }

    let load = tokio::spawn({
        let (cache, entered, release) = (cache.clone(), entered.clone(), release.clone());
        async move { held(&cache, &entered, &release).await }
    });
    tokio::time::timeout(Duration::from_secs(10), entered.notified())
        .await
        .expect("the load started");
    let marker: Vec<u8> = redis::cmd("GET")
        .arg("held")
        .query(&mut server.raw())
        .unwrap();
    assert_eq!(marker.first(), Some(&0xFF), "{marker:?}");
    assert!(
        std::str::from_utf8(&marker).is_err(),
        "a marker is never UTF-8"
    );
    assert_eq!(cache.get("held").await.unwrap(), None);
    release.notify_one();
    assert_eq!(load.await.unwrap(), 1);
    assert_eq!(cache.get("held").await.unwrap().as_deref(), Some("1"));
}
