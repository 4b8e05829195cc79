//! What Redis Cluster costs next to one server (issue 12): one table, measured in one run.
//!
//!     cargo bench --bench cluster                          # about a minute and a half
//!     CLUSTER_BENCH_QUICK=1 cargo bench --bench cluster    # under 30 s
//!
//! It starts its own `redis-server`, its own cluster (three primaries, three replicas, on
//! loopback: `tests/support/cluster.rs`) and a second server with one replica, writes the
//! suite's small JSON struct under 1,000 keys (spread over the cluster's slots as any keys
//! are), and measures each scenario on the single server and on the cluster, through
//! `RedisCache::builder` and `RedisCache::cluster_builder` with the same settings:
//!
//! - a hit through `#[cached]`, with 1 task (latency) and 64 (time per hit at full
//!   throughput), with the first tier off and on, and with 64 tasks with coalescing off;
//! - a cold miss through `#[cached]` (the lease, a body that returns at once, the store);
//! - `#[invalidate]` of one key, which on a cluster waits for a replica (`WAIT 1`); and the
//!   same `UNLINK` + `WAIT 1` by hand on the cluster and on the server with a replica;
//! - redis-rs alone, the floor of each side: `GET` on a `MultiplexedConnection` and on a
//!   `cluster_async::ClusterConnection`.
//!
//! It reuses the suite's measuring (`benches/suite/measure.rs`, `rounds.rs`): every
//! contender runs once per round, in turn, every other round backwards; each ratio is taken
//! within a round and the table gives the median over the rounds. Nothing is asserted.

#[path = "../tests/support/mod.rs"]
mod support;

// The suite's modules this benchmark measures with; each is used in part.
#[allow(dead_code)]
#[path = "suite/allocations.rs"]
mod allocations;
#[path = "suite/commands.rs"]
mod commands;
#[allow(dead_code)]
#[path = "suite/cpu.rs"]
mod cpu;
#[allow(dead_code)]
#[path = "suite/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "suite/measure.rs"]
mod measure;
#[allow(dead_code)]
#[path = "suite/rounds.rs"]
mod rounds;

#[path = "cluster/backends.rs"]
mod backends;
#[path = "cluster/contenders.rs"]
mod contenders;
#[path = "cluster/plan.rs"]
mod plan;
#[path = "cluster/settings.rs"]
mod settings;
#[path = "cluster/table.rs"]
mod table;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cache_aside::RedisCache;
use redis::cluster_routing::Slot;

use backends::{Backends, fill};
use contenders::{Build, RawGet, Through, UnlinkWait, doomed_key};
use measure::Keys;
use plan::{Plan, Side};
use settings::Settings;
use table::Table;

/// Users every hit reads.
const HOT_USERS: u64 = 1_000;
/// Tasks of the throughput rows.
const TASKS: usize = 64;
/// Fewer microseconds than any deletion with one task takes here: the keys written for the
/// invalidation rows are the run's time per contender divided by this.
const FASTEST_DELETION_MICROS: u128 = 15;
/// The first id of the second cold-miss row on the cluster: apart from the first's.
const OTHER_MISSES: u64 = 1 << 40;

fn main() {
    // `cargo test --benches` (and `--all-targets`) runs bench binaries without `--bench`.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let started = Instant::now();
    let load_before = load_average();
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    eprintln!("cluster bench: starting a server, a cluster of six nodes and a replicated pair");
    let backends = Backends::start();
    let (single, cluster, replicated) = (
        backends.single_target(),
        backends.cluster_target(),
        backends.replicated_target(),
    );
    let url = backends.single.url();
    let seeds = backends.cluster.seeds();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let mut table = Table::default();

    let (raw_single, raw_cluster, raw_replicated) = runtime.block_on(async {
        let server = |url: String| async move {
            redis::Client::open(url)
                .expect("a valid URL")
                .get_multiplexed_async_connection()
                .await
                .expect("a connection")
        };
        let cluster = redis::cluster::ClusterClient::new(seeds.clone())
            .expect("valid seeds")
            .get_async_connection()
            .await
            .expect("a cluster connection");
        (
            server(url.clone()).await,
            cluster,
            server(backends.replicated.url()).await,
        )
    });

    // The hot users, then the keys the invalidations delete (ids `0..doomed` on each side,
    // and on the cluster `doomed..2 * doomed` for the deletions by hand).
    let fill_started = Instant::now();
    let users = || (0..HOT_USERS).map(|id| (fixture::key(id), json(id)));
    let doomed = u64::try_from(settings.time_per_contender().as_micros() / FASTEST_DELETION_MICROS)
        .unwrap_or(u64::MAX);
    let doomed_keys = |ids: std::ops::Range<u64>| ids.map(|id| (doomed_key(id), json(id)));
    runtime.block_on(async {
        fill(&raw_single, users()).await;
        fill(&raw_cluster, users()).await;
    });
    table.notes.push(spread_note(&cluster));
    runtime.block_on(async {
        fill(&raw_single, doomed_keys(0..doomed)).await;
        fill(&raw_cluster, doomed_keys(0..2 * doomed)).await;
        fill(&raw_replicated, doomed_keys(0..doomed)).await;
    });
    cluster.settle("the fill");
    replicated.settle("the fill");
    table.notes.push(format!(
        "Wrote {HOT_USERS} users on each side and {doomed} keys per invalidation row in {:.1} s.",
        fill_started.elapsed().as_secs_f64()
    ));

    let on = |build: Build| {
        (
            build.build(RedisCache::builder(&url)),
            build.build(RedisCache::cluster_builder(&seeds)),
        )
    };
    let (plain_single, plain_cluster) = on(Build::DEFAULT);
    let (tier_single, tier_cluster) = on(Build::LOCAL_TIER);
    let (lone_single, lone_cluster) = on(Build::NO_COALESCING);
    let replicated_cache = Build::DEFAULT.build(RedisCache::builder(backends.replicated.url()));
    // Every cache connected, and the first tiers holding every hot user.
    runtime.block_on(async {
        for cache in [
            &plain_single,
            &plain_cluster,
            &tier_single,
            &tier_cluster,
            &lone_single,
            &lone_cluster,
        ] {
            for id in 0..HOT_USERS {
                fixture::cached_on_redis(cache, id).await.expect("a hit");
            }
        }
    });

    let hot = Keys::Random { count: HOT_USERS };
    let fresh = || Keys::fresh_from(0);
    // (label, keys, filled up to): the invalidation rows' keys, checked after the run.
    let deletions = [
        ("#[invalidate] on the server", fresh(), doomed),
        ("#[invalidate] on the cluster", fresh(), doomed),
        ("UNLINK + WAIT 1 on the replicated server", fresh(), doomed),
        (
            "UNLINK + WAIT 1 on the cluster",
            Keys::fresh_from(doomed),
            2 * doomed,
        ),
    ];
    let mut plan = Plan::new(&runtime);
    plan.floor(
        "raw redis-rs GET + serde_json (MultiplexedConnection; cluster_async::ClusterConnection)",
        1,
        Side::new(&single, RawGet(raw_single.clone()), hot.clone()),
        Side::new(&cluster, RawGet(raw_cluster.clone()), hot.clone()),
    );
    plan.pair(
        "#[cached] hit, defaults",
        1,
        Side::new(&single, Through::Hit(plain_single.clone()), hot.clone()),
        Side::new(&cluster, Through::Hit(plain_cluster.clone()), hot.clone()),
    );
    plan.pair(
        "#[cached] hit, first tier on",
        1,
        Side::new(&single, Through::Hit(tier_single.clone()), hot.clone()),
        Side::new(&cluster, Through::Hit(tier_cluster.clone()), hot.clone()),
    );
    plan.pair(
        "#[cached] cold miss (lease, body, store)",
        1,
        Side::new(&single, Through::ColdMiss(plain_single.clone()), fresh()),
        Side::new(&cluster, Through::ColdMiss(plain_cluster.clone()), fresh()),
    );
    plan.pair(
        "#[cached] cold miss (single: a server with one replica)",
        1,
        Side::new(&replicated, Through::ColdMiss(replicated_cache), fresh()),
        Side::new(
            &cluster,
            Through::ColdMiss(plain_cluster.clone()),
            Keys::fresh_from(OTHER_MISSES),
        ),
    );
    plan.pair(
        "#[invalidate] by key (on the cluster with WAIT 1)",
        1,
        Side::new(
            &single,
            Through::Invalidate(plain_single.clone()),
            deletions[0].1.clone(),
        ),
        Side::new(
            &cluster,
            Through::Invalidate(plain_cluster.clone()),
            deletions[1].1.clone(),
        ),
    );
    plan.pair(
        "UNLINK + WAIT 1 by hand, one pipeline (single: a server with one replica)",
        1,
        Side::new(
            &replicated,
            UnlinkWait(raw_replicated.clone()),
            deletions[2].1.clone(),
        ),
        Side::new(
            &cluster,
            UnlinkWait(raw_cluster.clone()),
            deletions[3].1.clone(),
        ),
    );
    plan.floor(
        "raw redis-rs GET + serde_json",
        TASKS,
        Side::new(&single, RawGet(raw_single), hot.clone()),
        Side::new(&cluster, RawGet(raw_cluster), hot.clone()),
    );
    plan.pair(
        "#[cached] hit, defaults (coalescing on)",
        TASKS,
        Side::new(&single, Through::Hit(plain_single), hot.clone()),
        Side::new(&cluster, Through::Hit(plain_cluster), hot.clone()),
    );
    plan.pair(
        "#[cached] hit, coalescing off",
        TASKS,
        Side::new(&single, Through::Hit(lone_single), hot.clone()),
        Side::new(&cluster, Through::Hit(lone_cluster), hot.clone()),
    );
    plan.pair(
        "#[cached] hit, first tier on",
        TASKS,
        Side::new(&single, Through::Hit(tier_single), hot.clone()),
        Side::new(&cluster, Through::Hit(tier_cluster), hot),
    );

    let Plan { entries, pairs, .. } = plan;
    table.pairs = pairs;
    eprintln!(
        "cluster bench: {} contenders × {} rounds of {} ms",
        entries.len(),
        settings.rounds,
        settings.window.as_millis()
    );
    let series = rounds::alternate(&settings, entries);

    for (label, keys, filled) in &deletions {
        if let Keys::Fresh(next) = keys {
            let reached = next.load(std::sync::atomic::Ordering::Relaxed);
            if reached > *filled {
                table.notes.push(format!(
                    "{label} ran past the keys written for it: its last {} deletions deleted \
                     nothing (raise FASTEST_DELETION_MICROS's share).",
                    reached - filled
                ));
            }
        }
    }
    table.notes.push(
        "With one task a figure is the median latency of the round's calls; with 64, the \
         round's time divided by its calls. A ratio is taken within each round, then the \
         median (least–greatest) of the rounds. Commands are what the primaries ran \
         (`INFO commandstats`, scripts' calls included); `replconf` is a replica's \
         acknowledgement, which `WAIT` asks for."
            .to_owned(),
    );

    println!();
    println!(
        "{}",
        header(&backends, &settings, started.elapsed(), &load_before)
    );
    println!();
    print!("{}", table.render(&series));
}

fn json(id: u64) -> Vec<u8> {
    serde_json::to_vec(&fixture::user(id)).expect("a User serializes")
}

/// How the hot users fall on the cluster: distinct slots, and keys per primary.
fn spread_note(cluster: &backends::Target) -> String {
    let slots: HashSet<Slot> = (0..HOT_USERS)
        .map(|id| Slot::for_key(fixture::key(id)))
        .collect();
    let per_primary: Vec<String> = cluster
        .keys_per_primary()
        .iter()
        .map(u64::to_string)
        .collect();
    format!(
        "The {HOT_USERS} hot users fall in {} slots of the cluster; its primaries hold {} of them.",
        slots.len(),
        per_primary.join(", ")
    )
}

/// The machine's load (`/proc/loadavg`: 1, 5 and 15 minutes), for the header.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn header(backends: &Backends, settings: &Settings, took: Duration, load_before: &str) -> String {
    format!(
        "cache-aside cluster benchmark{}: redis-server {} on loopback, a single server against \
         a cluster of 3 primaries and 3 replicas; values of {} bytes of JSON; {} rounds of {} \
         ms per contender, alternating; a multi-thread Tokio runtime with 2 workers; {} \
         logical CPUs, load average {load_before} before and {} after; {:.0} s in all.",
        if settings.quick {
            " (CLUSTER_BENCH_QUICK)"
        } else {
            ""
        },
        backends.version(),
        fixture::value_size(),
        settings.rounds,
        settings.window.as_millis(),
        std::thread::available_parallelism().map_or(0, usize::from),
        load_average(),
        took.as_secs_f64()
    )
}
