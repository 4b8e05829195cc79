//! Issue 10, defect 7 (deploy skew stores unleased): a miss that waited on another
//! process's lease, and whose landed value does not decode as its own type, loads under a
//! lease like any other, so that an invalidation during that load keeps its value out.
//!
//! Two deploys share a key: the old one (handle Y) caches a `String` there, the new one
//! (handle X) a struct. X waits for Y's load, finds a `String` it cannot decode and loads
//! for itself; a third handle (Z, another process) commits a new row and invalidates the
//! key during X's load. Today X writes its value with a plain `SET`, and it is served
//! until its TTL ends.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cache_aside::{RedisCache, cached, invalidate, stats_for};
use serde::{Deserialize, Serialize};

use crate::held::{Db, Hold};
use crate::in_place::in_place;
use crate::support::RedisServer;

const KEY: &str = "skew:row";
const LIMIT: Duration = Duration::from_secs(10);

/// What the new deploy caches at the key.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Row {
    name: String,
    version: u32,
}

/// The old deploy's read: a `String`.
#[cached(key = "skew:row", ttl = 600, lease = "3s", cache = cache)]
async fn old_read(cache: &RedisCache, db: &Db, hold: &Hold) -> String {
    let value = db.read();
    hold.entered.notify_one();
    hold.release.notified().await;
    value
}

/// The new deploy's read of the same key: a struct.
#[cached(key = "skew:row", ttl = 600, lease = "3s", cache = cache)]
async fn new_read(cache: &RedisCache, db: &Db, hold: Option<&Hold>) -> Row {
    let name = db.read();
    if let Some(hold) = hold {
        hold.entered.notify_one();
        hold.release.notified().await;
    }
    Row { name, version: 2 }
}

#[invalidate(key = "skew:row", cache = cache)]
async fn write(cache: &RedisCache, db: &Db, value: &str) {
    *db.0.lock().unwrap_or_else(PoisonError::into_inner) = value.to_owned();
}

async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}"))
}

fn new_read_misses() -> u64 {
    stats_for(concat!(module_path!(), "::new_read")).map_or(0, |stats| stats.misses)
}

fn stored(server: &RedisServer) -> Option<String> {
    let value: Option<Vec<u8>> = redis::cmd("GET")
        .arg(KEY)
        .query(&mut server.raw())
        .expect("raw GET");
    value
        .filter(|bytes| bytes.first() != Some(&0xFF))
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_after_an_undecodable_landed_value_is_kept_out_by_an_invalidation() {
    let server = RedisServer::start();
    let connect = || crate::children::handle(&server.url());
    let (x, y, z) = (connect(), connect(), connect());
    let db = Arc::new(Db(Mutex::new("v0".to_owned())));

    // Y (the old deploy) holds the lease, loading.
    let hold_y = Arc::new(Hold::default());
    let y1 = tokio::spawn({
        let (y, db, hold) = (y.clone(), Arc::clone(&db), Arc::clone(&hold_y));
        async move { old_read(&y, &db, &hold).await }
    });
    bounded("Y loading", hold_y.entered.notified()).await;

    // X (the new deploy) misses and waits for Y's lease.
    let hold_x = Arc::new(Hold::default());
    let before = new_read_misses();
    let x1 = tokio::spawn({
        let (x, db, hold) = (x.clone(), Arc::clone(&db), Arc::clone(&hold_x));
        async move { new_read(&x, &db, Some(&hold)).await }
    });
    in_place(|| async { new_read_misses() > before }).await;

    // Y stores its `String`; X finds it, cannot decode it, and loads (v0), held.
    hold_y.release.notify_one();
    assert_eq!(bounded("Y's load", y1).await.expect("Y's load"), "v0");
    bounded("X loading for itself", hold_x.entered.notified()).await;

    // Z commits v1 and invalidates the key during X's load.
    write(&z, &db, "v1").await;
    hold_x.release.notify_one();
    let x_row = bounded("X's load", x1).await.expect("X's load");
    assert_eq!(x_row.name, "v0", "X's load overlapped the write");

    let left = stored(&server);
    println!("deploy skew: after X's load, the key holds {left:?}");
    assert!(
        !left.as_deref().is_some_and(|raw| raw.contains("v0")),
        "X's load, which overlapped Z's invalidation, was stored: the key holds {left:?}"
    );
    // Another handle (another process) reads the committed row.
    let fresh = bounded("a read on another handle", new_read(&z, &db, None)).await;
    assert_eq!(
        fresh,
        Row {
            name: "v1".to_owned(),
            version: 2
        },
        "a read after the invalidation got the value of a load that overlapped it"
    );
}
