//! The probe after a short outage: it opens a connection of its own, so recovery takes one
//! cool-down, not two.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{BreakerState, RedisCache};

use crate::common::{RECOVERY, RedisServer, blocking, connected};

/// A 300 ms stop and restart under a steady load of callers (some of whom try to connect
/// while the server is gone): the breaker closes about one cool-down after it opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_after_a_short_outage_takes_one_cool_down() {
    const COOL_DOWN: Duration = Duration::from_secs(1);
    let mut server = RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .op_timeout(Duration::from_millis(250))
        .cool_down(COOL_DOWN)
        .failure_threshold(1)
        .build()
        .unwrap();
    connected(&cache).await;
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..64)
        .map(|task| {
            let (cache, stop) = (cache.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let _ = cache.get(&format!("k{task}")).await;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();

    blocking(|| server.stop());
    let deadline = Instant::now() + RECOVERY;
    while cache.health().state == BreakerState::Closed {
        assert!(Instant::now() < deadline, "the breaker opened");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let opened = Instant::now();
    // The outage itself, not a synchronisation: the server is gone for this long.
    tokio::time::sleep(Duration::from_millis(300)).await;
    blocking(|| server.restart());
    while cache.health().state != BreakerState::Closed {
        assert!(Instant::now() < deadline, "the breaker closed again");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = opened.elapsed();
    stop.store(true, Ordering::SeqCst);
    for caller in callers {
        caller.await.unwrap();
    }
    eprintln!("recovery after a 300 ms outage: {took:?} (cool-down {COOL_DOWN:?})");
    assert!(
        took < COOL_DOWN + COOL_DOWN * 3 / 4,
        "closed {took:?} after opening: more than one cool-down ({COOL_DOWN:?})"
    );
}
