//! The server down when the application starts, and up later.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use cache_aside::{BreakerState, RedisCache, cached};

use crate::common::{
    CALL_BOUND, RECOVERY, Raw, RedisServer, blocking, eventually, fast_failing, timed,
};

#[cached(key = "down:{id}", cache = cache)]
async fn read(cache: &RedisCache, bodies: &AtomicU64, id: u64) -> String {
    bodies.fetch_add(1, Ordering::SeqCst);
    format!("value {id}")
}

/// With nothing listening at start-up, the cache is built, every call runs the body and
/// returns its value within a bound, and the breaker opens. Once a server listens on the
/// port, caching resumes by itself: a value is stored and then hit, with no call to anything
/// but the cached function.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_at_start_up_then_up_caching_resumes_by_itself() {
    // A port of our own with nothing on it, until the restart below.
    let mut server = RedisServer::start();
    server.stop();
    let cache = fast_failing(server.url()).build().unwrap();
    let bodies = AtomicU64::new(0);
    for call in 1..=20 {
        let (value, _) = timed(
            CALL_BOUND,
            "a call with Redis down",
            read(&cache, &bodies, 1),
        )
        .await;
        assert_eq!(value, "value 1");
        assert_eq!(
            bodies.load(Ordering::SeqCst),
            call,
            "uncached: the body ran"
        );
    }
    let health = cache.health();
    assert_ne!(health.state, BreakerState::Closed, "{health:?}");
    assert!(health.times_opened >= 1, "{health:?}");

    blocking(|| server.restart());
    let up = Instant::now();
    let raw = Raw::new(&server);
    let (cache, bodies, raw) = (&cache, &bodies, &raw);
    eventually(RECOVERY, "a value stored once Redis is up", || async move {
        assert_eq!(read(cache, bodies, 1).await, "value 1");
        raw.get("down:1").is_some()
    })
    .await;
    eventually(RECOVERY, "a hit", || async move {
        let loads = bodies.load(Ordering::SeqCst);
        assert_eq!(read(cache, bodies, 1).await, "value 1");
        bodies.load(Ordering::SeqCst) == loads
    })
    .await;
    assert_eq!(cache.health().state, BreakerState::Closed);
    eprintln!(
        "down: caching resumed {:?} after the server came up",
        up.elapsed()
    );
}
