//! Issue 10, defect 4 (a late read joins an old load): a call that starts after an
//! invalidation, made in any process, has returned never returns a value loaded before it.
//!
//! Three handles on one Redis, A, B and C, share no in-process state (as three processes
//! would); `processes` runs the same with three OS processes. A's load reads v0 from the database and is held; B writes v1 and its
//! `#[invalidate]` returns; C misses and takes a new lease, its load held too; then a second
//! call in A starts. Today it finds C's lease (not "missing"), so it does not check whether
//! A's own flight is still current, joins A's older load and returns v0.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cache_aside::{RedisCache, cached, invalidate, stats_for};

use crate::held::{Db, Hold};
use crate::in_place::in_place;
use crate::support::RedisServer;

const LIMIT: Duration = Duration::from_secs(10);

#[cached(key = "late:row", ttl = 600, lease = "3s", cache = cache)]
async fn read(cache: &RedisCache, db: &Db, hold: Option<&Hold>) -> String {
    let value = db.read();
    if let Some(hold) = hold {
        hold.entered.notify_one();
        hold.release.notified().await;
    }
    value
}

#[invalidate(key = "late:row", cache = cache)]
async fn write(cache: &RedisCache, db: &Db, value: &str) {
    *db.0.lock().unwrap_or_else(PoisonError::into_inner) = value.to_owned();
}

async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}"))
}

fn misses() -> u64 {
    stats_for(concat!(module_path!(), "::read")).map_or(0, |stats| stats.misses)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_after_an_invalidation_does_not_join_a_load_from_before_it() {
    let server = RedisServer::start();
    let connect = || crate::children::handle(&server.url());
    let (a, b, c) = (connect(), connect(), connect());
    let db = Arc::new(Db(Mutex::new("v0".to_owned())));

    // A loads v0 and is held.
    let hold_a = Arc::new(Hold::default());
    let a1 = tokio::spawn({
        let (a, db, hold) = (a.clone(), Arc::clone(&db), Arc::clone(&hold_a));
        async move { read(&a, &db, Some(&hold)).await }
    });
    bounded("A's first load reading v0", hold_a.entered.notified()).await;

    // B commits v1; its invalidation has returned.
    write(&b, &db, "v1").await;

    // C misses, takes a new lease and loads (v1), held too.
    let hold_c = Arc::new(Hold::default());
    let c1 = tokio::spawn({
        let (c, db, hold) = (c.clone(), Arc::clone(&db), Arc::clone(&hold_c));
        async move { read(&c, &db, Some(&hold)).await }
    });
    bounded("C's load", hold_c.entered.notified()).await;

    // A call in A that starts after B returned.
    let before = misses();
    let mut a2 = tokio::spawn({
        let (a, db) = (a.clone(), Arc::clone(&db));
        async move { read(&a, &db, None).await }
    });
    // It is in place once it has counted its miss (or it is done already).
    let early = bounded("A's second call in place", async {
        tokio::select! {
            done = &mut a2 => Some(done.expect("A's second call panicked")),
            () = in_place(|| async { misses() > before }) => None,
        }
    })
    .await;

    hold_a.release.notify_one();
    let first = bounded("A's first load", a1).await.expect("A's first load");
    assert_eq!(first, "v0", "A's first load overlapped the write");
    hold_c.release.notify_one();
    let second = match early {
        Some(value) => value,
        None => bounded("A's second call", a2)
            .await
            .expect("A's second call"),
    };
    assert_eq!(
        bounded("C's load", c1).await.expect("C's load"),
        "v1",
        "C loaded after the write"
    );
    println!("late read: A's second call, started after B's invalidation returned, got {second}");
    assert_eq!(
        second, "v1",
        "a call in A that started after B's invalidation returned got {second}: the value \
         of A's load from before it"
    );
}

/// The same, with A, B and C as three OS processes (this test binary run again), the
/// database a key in the same Redis, and every hand-over a key there.
mod processes {
    use std::time::Duration;

    use cache_aside::prelude::*;
    use cache_aside::{RedisCache, cached, invalidate, stats_for};

    use crate::children;
    use crate::in_place::in_place;
    use crate::support::RedisServer;
    use crate::support::wait::eventually;

    /// Where a child finds the server.
    const URL: &str = "CACHE_ASIDE_LATE_READS_URL";
    /// The bound on each child process, start-up included, and on every hand-over.
    const LIMIT: Duration = Duration::from_secs(60);
    /// The "database" row.
    const ROW: &str = "late-os:db";

    async fn flag(cache: &RedisCache, name: &str) -> bool {
        cache
            .get(name)
            .await
            .expect("read a hand-over key")
            .is_some()
    }

    async fn raise(cache: &RedisCache, name: &str) {
        cache
            .set(name, "1", None)
            .await
            .expect("set a hand-over key");
    }

    async fn wait_for(cache: &RedisCache, name: &str) {
        eventually(LIMIT, name, || async { flag(cache, name).await }).await;
    }

    /// Reads the row; with `hold`, announces `{hold}:entered` after the read and waits for
    /// `{hold}:release` before returning.
    #[cached(key = "late-os:row", ttl = 600, lease = "3s", cache = cache)]
    async fn read(cache: &RedisCache, hold: Option<&str>) -> String {
        let value = cache
            .get(ROW)
            .await
            .expect("read the row")
            .unwrap_or_default();
        if let Some(hold) = hold {
            raise(cache, &format!("{hold}:entered")).await;
            wait_for(cache, &format!("{hold}:release")).await;
        }
        value
    }

    #[invalidate(key = "late-os:row", cache = cache)]
    async fn write(cache: &RedisCache, value: &str) {
        cache.set(ROW, value, None).await.expect("write the row");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_after_an_invalidation_in_another_process_does_not_join_an_older_load() {
        let server = RedisServer::start();
        let url = server.url();
        let cache = RedisCache::builder(&url)
            .op_timeout(Duration::from_secs(5))
            .build()
            .expect("a valid URL");
        cache.set(ROW, "v0", None).await.expect("seed the row");

        let a = children::spawn("late_reads::processes::child_a", &[(URL, &url)]);
        wait_for(&cache, "a1:entered").await;
        let b = children::spawn("late_reads::processes::child_b", &[(URL, &url)]);
        children::finish(b, LIMIT);
        let c = children::spawn("late_reads::processes::child_c", &[(URL, &url)]);
        wait_for(&cache, "c:entered").await;
        raise(&cache, "a2:go").await;
        wait_for(&cache, "a2:in-place").await;
        raise(&cache, "a1:release").await;
        raise(&cache, "c:release").await;
        children::finish(c, LIMIT);
        let output = children::finish(a, LIMIT);
        let second = output
            .lines()
            .find_map(|line| line.split("A's second call got ").nth(1))
            .unwrap_or_else(|| panic!("A reported its second call:\n{output}"))
            .trim()
            .to_owned();
        println!(
            "late read (processes): A's second call, started after B's invalidation \
             returned, got {second}"
        );
        assert_eq!(
            second, "v1",
            "a call in process A that started after process B's invalidation returned got \
             {second}: the value of A's load from before it"
        );
    }

    fn cache() -> Option<RedisCache> {
        children::cache_from_env(URL)
    }

    /// A: a load of v0, held; then, once told, a second call, started after B returned.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a child process of a_call_after_an_invalidation_in_another_process_does_not_join_an_older_load"]
    async fn child_a() {
        let Some(cache) = cache() else {
            return;
        };
        let first = tokio::spawn({
            let cache = cache.clone();
            async move { read(&cache, Some("a1")).await }
        });
        wait_for(&cache, "a2:go").await;
        let misses = || stats_for(concat!(module_path!(), "::read")).map_or(0, |s| s.misses);
        let mut second = tokio::spawn({
            let cache = cache.clone();
            async move { read(&cache, None).await }
        });
        // In place once it has counted its miss (the first call counted one), or done.
        let early = tokio::time::timeout(LIMIT, async {
            tokio::select! {
                done = &mut second => Some(done.expect("A's second call")),
                () = in_place(|| async { misses() >= 2 }) => None,
            }
        })
        .await
        .expect("A's second call in place");
        raise(&cache, "a2:in-place").await;
        let second = match early {
            Some(value) => value,
            None => tokio::time::timeout(LIMIT, second)
                .await
                .expect("A's second call finished")
                .expect("A's second call"),
        };
        let first = tokio::time::timeout(LIMIT, first)
            .await
            .expect("A's first call finished")
            .expect("A's first call");
        println!("late read child A: A's first call got {first}");
        println!("late read child A: A's second call got {second}");
    }

    /// B: commits v1 and invalidates.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a child process of a_call_after_an_invalidation_in_another_process_does_not_join_an_older_load"]
    async fn child_b() {
        let Some(cache) = cache() else {
            return;
        };
        write(&cache, "v1").await;
    }

    /// C: misses after B, takes a new lease and loads v1, held.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a child process of a_call_after_an_invalidation_in_another_process_does_not_join_an_older_load"]
    async fn child_c() {
        let Some(cache) = cache() else {
            return;
        };
        assert_eq!(read(&cache, Some("c")).await, "v1");
    }
}
