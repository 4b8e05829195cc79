//! A lease whose holder died: a process is killed in the middle of a load; the key stays
//! leased until the lease expires, and is loaded and stored right after.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{Lease, LeaseToken, RedisCache, cached};

use crate::children;
use crate::support::RedisServer;
use crate::support::wait::eventually;

const URL: &str = "CACHE_ASIDE_DEAD_HOLDER_URL";
const KEY: &str = "dead:key";

/// The child's load: it announces itself, then never finishes (until it is killed).
#[cached(key = "dead:key", ttl = 600, lease = "1s", cache = cache)]
async fn stuck(cache: &RedisCache) -> String {
    cache.increment("dead:entered", 1).await.expect("announce");
    std::future::pending::<()>().await;
    unreachable!()
}

/// The survivor's load of the same key; its own lease (and wait) is longer than the dead
/// one's, so it waits the dead lease out rather than giving up.
#[cached(key = "dead:key", ttl = 600, lease = "5s", cache = cache)]
async fn fresh(cache: &RedisCache, runs: &AtomicUsize) -> String {
    runs.fetch_add(1, Ordering::SeqCst);
    "fresh".to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holders_lease_blocks_its_key_until_it_expires() {
    let server = RedisServer::start();
    let cache = children::handle(&server.url());
    let mut child = children::spawn("dead_holder::child", &[(URL, &server.url())]);
    eventually(Duration::from_secs(30), "the child loading", || async {
        cache.get("dead:entered").await.unwrap().as_deref() == Some("1")
    })
    .await;
    child.kill().expect("SIGKILL the lease holder");
    child.wait().expect("reap it");

    // The holder is dead; its lease is not gone.
    let leases = cache.leases().expect("RedisCache has leases");
    let lease = leases
        .try_lease(KEY, &LeaseToken::new(), Duration::from_secs(5), None, &[])
        .await
        .unwrap();
    assert!(
        matches!(lease, Lease::Loading(_)),
        "the key cannot be leased before the dead lease expires: {lease:?}"
    );
    let left: i64 = redis::cmd("PTTL")
        .arg(KEY)
        .query(&mut server.raw())
        .unwrap();
    assert!(
        (1..=1000).contains(&left),
        "the dead lease has {left} ms left"
    );

    let runs = AtomicUsize::new(0);
    let started = Instant::now();
    assert_eq!(fresh(&cache, &runs).await, "fresh");
    let waited = started.elapsed();
    println!(
        "dead holder: lease 1 s, {left} ms left when the holder was gone; the next call \
         waited {waited:?}, then loaded and stored"
    );
    assert!(
        waited + Duration::from_millis(50) >= Duration::from_millis(left.unsigned_abs()),
        "the key was loaded before the dead lease expired ({waited:?} < {left} ms)"
    );
    assert!(
        waited < Duration::from_millis(left.unsigned_abs()) + Duration::from_secs(2),
        "the dead lease blocked the key well past its expiry ({waited:?})"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(cache.get(KEY).await.unwrap().as_deref(), Some(r#""fresh""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of a_killed_holders_lease_blocks_its_key_until_it_expires"]
async fn child() {
    let Some(cache) = crate::children::cache_from_env(URL) else {
        return;
    };
    stuck(&cache).await;
}
