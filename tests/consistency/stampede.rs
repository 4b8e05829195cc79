//! Stampede across processes: four OS processes with 100 callers each ask for one cold key
//! whose body takes 200 ms; the body runs once in all, and every caller gets the value. On
//! one server, and on a Redis Cluster.

use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{RedisCache, cached, stats_for};

use crate::children;
use crate::support::RedisServer;
use crate::support::cluster::RedisCluster;
use crate::support::wait::eventually;

const PROCESSES: usize = 4;
const CALLERS: usize = 100;
const BODY: Duration = Duration::from_millis(200);
/// Where a child finds the server.
const URL: &str = "CACHE_ASIDE_STAMPEDE_URL";
/// The bound on each child process, start-up included.
const LIMIT: Duration = Duration::from_secs(60);

#[cached(key = "stampede:hot", ttl = 600, cache = cache)]
async fn hot(cache: &RedisCache) -> String {
    // Counted in the store, so that runs in every process add up.
    cache
        .increment("stampede:runs", 1)
        .await
        .expect("count a run");
    tokio::time::sleep(BODY).await;
    "the hot value".to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_load_a_cold_key_once() {
    let server = RedisServer::start();
    let runs = stampede("one server", &server.url(), || {
        redis::cmd("GET")
            .arg("stampede:runs")
            .query(&mut server.raw())
            .expect("the run count")
    });
    assert_eq!(runs, 1, "the body ran once across all processes");
}

/// The same on a Redis Cluster: the lease, the count and the barrier live on three primaries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_load_a_cold_key_once_on_a_cluster() {
    let cluster = RedisCluster::shared();
    let runs = stampede(
        "a cluster",
        &children::cluster_spec(&cluster.seeds()),
        || cluster.raw().query(redis::cmd("GET").arg("stampede:runs")),
    );
    assert_eq!(runs, 1, "the body ran once across all processes");
}

/// Runs the children against `url` and returns how many times the body ran (`runs` reads it
/// from the store).
fn stampede(on: &str, url: &str, runs: impl FnOnce() -> u64) -> u64 {
    let started = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| children::spawn("stampede::child", &[(URL, url)]))
        .collect();
    let outputs: Vec<String> = children
        .into_iter()
        .map(|child| children::finish(child, LIMIT))
        .collect();
    // libtest prints the test's name on the line the child's report starts.
    let reports: Vec<&str> = outputs
        .iter()
        .flat_map(|output| output.lines())
        .filter_map(|line| line.find("stampede child:").map(|at| &line[at..]))
        .collect();
    assert_eq!(
        reports.len(),
        PROCESSES,
        "every child reported:\n{outputs:?}"
    );
    let runs = runs();
    println!(
        "stampede on {on}: {PROCESSES} processes x {CALLERS} callers, body {BODY:?}: the body \
         ran {runs} time(s) in all ({:?} with process start-up)",
        started.elapsed()
    );
    for report in reports {
        println!("  {report}");
    }
    runs
}

/// One of the processes: waits until all are ready, then runs its callers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of four_processes_load_a_cold_key_once"]
async fn child() {
    let Some(cache) = crate::children::cache_from_env(URL) else {
        return;
    };
    // A barrier in the store, so no process finds the key already loaded.
    cache.increment("stampede:ready", 1).await.expect("ready");
    eventually(Duration::from_secs(30), "every process ready", || async {
        let ready = cache.get("stampede:ready").await.expect("read the barrier");
        ready.as_deref() == Some(&PROCESSES.to_string())
    })
    .await;
    let calls: Vec<_> = (0..CALLERS)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { hot(&cache).await })
        })
        .collect();
    let mut got = 0;
    for call in calls {
        assert_eq!(call.await.expect("a caller panicked"), "the hot value");
        got += 1;
    }
    let stats = stats_for(concat!(module_path!(), "::hot")).expect("hot ran");
    println!(
        "stampede child: {got}/{CALLERS} callers got the value; this process loaded \
         {} time(s), {} callers waited for a load",
        stats.loads, stats.coalesced
    );
}
