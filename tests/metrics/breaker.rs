//! The breakers' states as a state set: `cache_aside_breaker_state{state}` is how many Redis
//! caches of the process have their breaker in `state`. This is the binary's only test that
//! builds a `RedisCache`, so the counts are exact.

use std::time::Duration;

use cache_aside::RedisCache;
use cache_aside::prelude::*;

use crate::recorder::recording;
use crate::support::RedisServer;
use crate::support::wait::{bounded, eventually};

const LIMIT: Duration = Duration::from_secs(10);

/// The gauges of the three states, `[closed, half_open, open]`; `-1` for one never set.
fn states() -> [f64; 3] {
    ["closed", "half_open", "open"].map(|state| {
        recording()
            .gauge("cache_aside_breaker_state", ("state", state))
            .unwrap_or(-1.0)
    })
}

#[tokio::test]
async fn the_gauge_follows_the_breaker_open_and_closed_again() {
    recording();
    let mut server = RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .failure_threshold(1)
        .cool_down(Duration::from_millis(100))
        .op_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    assert_eq!(states()[0], 1.0, "a new cache's breaker is closed");
    server.stop();
    let read = bounded(LIMIT, "a read", cache.get("k")).await;
    assert!(read.is_err());
    let [closed, _, open] = states();
    assert_eq!((closed, open), (0.0, 1.0), "open once the server is gone");

    server.restart();
    eventually(LIMIT, "the breaker closing", || async {
        let _ = cache.get("k").await;
        states() == [1.0, 0.0, 0.0]
    })
    .await;

    drop(cache);
    assert_eq!(states(), [0.0, 0.0, 0.0], "a dropped cache has no breaker");
}
