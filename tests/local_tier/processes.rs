//! Two OS processes (this test binary, run again for an ignored test): the keys one process
//! holds in its first tier, changed by the other through its own cache (a write, a deletion, a
//! pattern, a tag), are seen changed within [`STALENESS`] of the other process's exit, by which
//! time Redis has acknowledged every change.

use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{RedisCache, cache_put};

use crate::children;
use crate::rig::{Figures, Raw, RedisServer, STALENESS, held, read, seen_within, stats, tiered};

/// Where the child finds the server.
const URL: &str = "CACHE_ASIDE_LOCAL_TIER_URL";
/// The bound on the child process, start-up included.
const CHILD_LIMIT: Duration = Duration::from_secs(60);
const OLD: &str = r#""old""#;
const NEW: &str = r#""new""#;
const WRITTEN: &str = "processes:written";
const DELETED: &str = "processes:deleted";
const PATTERNED: &str = "processes:pattern:1";
const TAGGED: &str = "processes:tagged";
const TAG: &str = "processes:group";

#[cache_put(key = "processes:tagged", ttl = 600, tags = ["processes:group"], cache = cache)]
async fn put_tagged(cache: &RedisCache) -> String {
    "old".to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_in_another_process_are_seen_within_the_bound() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let reader = tiered(server.url()).build().unwrap();
    for key in [WRITTEN, DELETED, PATTERNED] {
        raw.set(key, OLD);
    }
    put_tagged(&reader).await;
    for key in [WRITTEN, DELETED, PATTERNED, TAGGED] {
        held(&reader, key, OLD).await;
    }

    let child = children::spawn("processes::child", &[(URL, &server.url())]);
    let output = tokio::task::spawn_blocking(move || children::finish(child, CHILD_LIMIT))
        .await
        .expect("the child's waiter");
    let exited = Instant::now();
    assert!(
        output.contains("local tier child: changed"),
        "the child made its changes:\n{output}"
    );
    let mut figures = Figures::default();
    let reader = &reader;
    for (key, expected) in [
        (WRITTEN, Some(NEW)),
        (DELETED, None),
        (PATTERNED, None),
        (TAGGED, None),
    ] {
        let took = seen_within(
            exited,
            STALENESS,
            &format!("{key} changed by another process"),
            || async move { read(reader, key).await.as_deref() == expected },
        )
        .await;
        figures.record(took);
    }
    println!(
        "processes: changes by another process seen, from its exit: {}; tier {:?}",
        figures.summary(),
        stats(reader)
    );
}

/// The other process: changes every key through a tiered cache of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of changes_in_another_process_are_seen_within_the_bound"]
async fn child() {
    let Ok(url) = std::env::var(URL) else {
        return;
    };
    let cache = tiered(url).build().unwrap();
    cache.set(WRITTEN, NEW, None).await.unwrap();
    assert!(cache.delete(DELETED).await.unwrap());
    assert_eq!(
        cache.delete_pattern("processes:pattern:*").await.unwrap(),
        1
    );
    assert_eq!(cache.invalidate_tags(&[TAG]).await.unwrap(), 1);
    println!("local tier child: changed 4 keys");
}
