//! Issue 10, defect 9 (one slow write switches caching off), on Redis: one `#[cache_put]`
//! whose write times out keeps reads of its own key away from the cache until its deletion
//! is replayed, and nothing else.
//!
//! The server is frozen for that one write, then thawed. Today the timed-out put queues a
//! deletion and opens the circuit breaker: no key at all is served until a cool-down has
//! passed and the deletion is replayed. Here the cool-down is 5 s, and a read of another
//! key right after the thaw must be a hit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use cache_aside::{RedisCache, cache_put, cached};

use crate::common::{OP_TIMEOUT, RedisServer, timed};

/// Long, so that a cache that waits for its breaker's cool-down shows it.
const COOL_DOWN: Duration = Duration::from_secs(5);
/// How long a hit may take right after the thaw: one round trip and slack, far below the
/// cool-down.
const HIT: Duration = Duration::from_millis(100);
const LIMIT: Duration = Duration::from_secs(10);

/// The "database".
#[derive(Default)]
struct Db {
    rows: Mutex<HashMap<u32, String>>,
    reads: AtomicUsize,
}

impl Db {
    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[cached(key = "put:{id}", ttl = 600, cache = cache)]
async fn read(cache: &RedisCache, db: &Db, id: u32) -> String {
    db.reads.fetch_add(1, Ordering::SeqCst);
    let rows = db.rows.lock().unwrap_or_else(PoisonError::into_inner);
    rows.get(&id).cloned().unwrap_or_default()
}

#[cache_put(key = "put:{id}", ttl = 600, cache = cache)]
async fn save(cache: &RedisCache, db: &Db, id: u32, value: &str) -> String {
    let mut rows = db.rows.lock().unwrap_or_else(PoisonError::into_inner);
    rows.insert(id, value.to_owned());
    value.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_timed_out_put_does_not_stop_other_keys_being_served() {
    let server = RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .op_timeout(OP_TIMEOUT)
        .cool_down(COOL_DOWN)
        .build()
        .expect("a valid URL");
    let db = Db::default();
    db.rows
        .lock()
        .unwrap()
        .extend([(1, "old".to_owned()), (2, "two".to_owned())]);
    assert_eq!(read(&cache, &db, 1).await, "old");
    assert_eq!(read(&cache, &db, 2).await, "two");
    assert_eq!(read(&cache, &db, 2).await, "two");
    assert_eq!(db.reads(), 2, "both rows cached");

    // The put's write times out: the server is frozen just for it.
    server.freeze();
    let (saved, _) = timed(
        LIMIT,
        "a put to a frozen server",
        save(&cache, &db, 1, "new"),
    )
    .await;
    server.thaw();
    assert_eq!(saved, "new");

    let thawed = Instant::now();
    let other = read(&cache, &db, 2).await;
    let took = thawed.elapsed();
    let reads = db.reads();
    println!(
        "slow put: a read of another key right after the thaw took {took:?} and {} the body \
         (cool-down {COOL_DOWN:?}); health {:?}",
        if reads == 2 { "did not run" } else { "ran" },
        cache.health()
    );
    assert_eq!(other, "two");
    assert_eq!(
        reads,
        2,
        "one timed-out #[cache_put] on another key stopped this key being served from the \
         cache right after the thaw (health: {:?})",
        cache.health()
    );
    assert!(
        took < HIT,
        "a hit on another key right after the thaw took {took:?} (bound {HIT:?})"
    );
    // The put's own key is not served as it was before the put.
    assert_eq!(
        read(&cache, &db, 1).await,
        "new",
        "the key of the timed-out put was served stale"
    );
}
