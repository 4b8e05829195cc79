//! Issue 10, item 10 (a tagged key that holds another Redis type is never repaired): a
//! tagged `#[cached]` key that holds a list (`GET` answers `WRONGTYPE`) is a miss whose
//! value replaces the list, recorded under its tags, as an untagged key's is
//! (`bad_values.rs`). Today the failed read makes the load skip its write when the entry
//! has tags, so the key stays a list, and every call runs the body, for ever.

use std::sync::atomic::{AtomicU64, Ordering};

use cache_aside::{RedisCache, cached};

use crate::common::{Raw, RedisServer};

#[cached(key = "listed:{id}", ttl = 600, tags = ["listed"], cache = cache)]
async fn tagged(cache: &RedisCache, bodies: &AtomicU64, id: u64) -> String {
    bodies.fetch_add(1, Ordering::SeqCst);
    format!("row {id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tagged_key_holding_a_list_is_repaired_by_the_next_load() {
    let server = RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .op_timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("a valid URL");
    let raw = Raw::new(&server);
    raw.query::<i64>(redis::cmd("RPUSH").arg("listed:1").arg("a").arg("b"));
    let bodies = AtomicU64::new(0);

    assert_eq!(tagged(&cache, &bodies, 1).await, "row 1");
    assert_eq!(bodies.load(Ordering::SeqCst), 1, "a miss");
    let kind: String = raw.query(redis::cmd("TYPE").arg("listed:1"));
    println!("tagged wrong type: after one call the key is a {kind}");
    assert_eq!(
        kind, "string",
        "a tagged key that held a list was not repaired by the load after it"
    );
    assert_eq!(
        raw.get("listed:1")
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        Some(r#""row 1""#.to_owned())
    );
    assert_eq!(tagged(&cache, &bodies, 1).await, "row 1");
    assert_eq!(bodies.load(Ordering::SeqCst), 1, "now a hit");

    // Recorded under its tag: the tag's invalidation removes it.
    cache_aside::invalidate_tags(&cache, &["listed"])
        .await
        .expect("invalidate the tag");
    assert!(
        !raw.exists("listed:1"),
        "the repaired entry is under its tag"
    );
}
