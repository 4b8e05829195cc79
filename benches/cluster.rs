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
//!   `cluster_async::ClusterConnection`; and to tell the cluster client's cost from the
//!   cluster's, `GET` and `SET` routed by hand (a `MultiplexedConnection` per primary), the
//!   lease protocol's three commands by hand, and `SET` on one primary only.
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
#[path = "suite/machine.rs"]
mod machine;
#[allow(dead_code)]
#[path = "suite/measure.rs"]
mod measure;
#[path = "suite/misses.rs"]
mod misses;
#[allow(dead_code)]
#[path = "suite/rounds.rs"]
mod rounds;

#[path = "cluster/backends.rs"]
mod backends;
#[path = "cluster/contenders.rs"]
mod contenders;
#[path = "cluster/plan.rs"]
mod plan;
#[path = "cluster/scenarios.rs"]
mod scenarios;
#[path = "cluster/settings.rs"]
mod settings;
#[path = "cluster/table.rs"]
mod table;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cache_aside::RedisCache;
use redis::cluster_routing::Slot;
use tokio::runtime::Runtime;

use machine::load_average;

use backends::{Backends, Target, Targets, fill};
use contenders::{Build, Routes, doomed_key, written_key};
use scenarios::{Both, Caches, Connections, Deletion};
use settings::Settings;
use table::Table;

/// Users every hit reads.
const HOT_USERS: u64 = 1_000;
/// Tasks of the throughput rows.
const TASKS: usize = 64;
/// Fewer microseconds than any deletion with one task takes here: the keys written for
/// each invalidation row are the run's time per contender divided by this.
const FASTEST_DELETION_MICROS: u128 = 15;

fn main() {
    if !machine::asked_to_run() {
        return;
    }
    let started = Instant::now();
    let load_before = load_average();
    let settings = Settings::from_env();
    let runtime = machine::runtime();
    eprintln!("cluster bench: starting a server, a cluster of six nodes and a replicated pair");
    let backends = Backends::start();
    let targets = backends.targets();
    let mut table = Table::default();
    let connections = connect(&runtime, &backends);

    let doomed = u64::try_from(settings.time_per_contender().as_micros() / FASTEST_DELETION_MICROS)
        .unwrap_or(u64::MAX);
    write_keys(&runtime, &connections, &targets, doomed, &mut table);

    let caches = caches(&runtime, &backends);
    let (plan, deletions) = scenarios::plan(&runtime, &targets, &connections, &caches, doomed);
    let plan::Plan { entries, pairs, .. } = plan;
    table.pairs = pairs;
    eprintln!(
        "cluster bench: set up in {:.1} s; {} contenders × {} rounds of {} ms",
        started.elapsed().as_secs_f64(),
        entries.len(),
        settings.rounds,
        settings.window.as_millis()
    );
    let series = rounds::alternate(&settings, entries);

    table
        .notes
        .extend(deletions.iter().filter_map(Deletion::overrun));
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

/// Writes the hot users on both sides, and the keys the invalidation rows delete (ids
/// `0..doomed` on each side, and on the cluster `doomed..2 * doomed` for the deletions by
/// hand); then waits until the replicas have them.
fn write_keys(
    runtime: &Runtime,
    connections: &Connections,
    targets: &Targets,
    doomed: u64,
    table: &mut Table,
) {
    let started = Instant::now();
    let users = || (0..HOT_USERS).map(|id| (fixture::key(id), json(id)));
    let doomed_keys = |ids: std::ops::Range<u64>| ids.map(|id| (doomed_key(id), json(id)));
    runtime.block_on(async {
        fill(&connections.single, users()).await;
        fill(&connections.cluster, users()).await;
    });
    table.notes.push(spread_note(&targets.cluster));
    runtime.block_on(async {
        fill(&connections.single, doomed_keys(0..doomed)).await;
        fill(&connections.cluster, doomed_keys(0..2 * doomed)).await;
        fill(&connections.replicated, doomed_keys(0..doomed)).await;
        backends::replicated(&mut connections.cluster.clone(), "the cluster's keys").await;
        backends::replicated(&mut connections.replicated.clone(), "the replicated keys").await;
    });
    table.notes.push(format!(
        "Wrote {HOT_USERS} users on each side and {doomed} keys per invalidation row in {:.1} s.",
        started.elapsed().as_secs_f64()
    ));
}

/// redis-rs's connections, with their defaults: to the server, to the cluster, to the
/// server with a replica, and to each primary with the routes of the users and the
/// written keys.
fn connect(runtime: &Runtime, backends: &Backends) -> Connections {
    let users = backends.owners((0..HOT_USERS).map(fixture::key));
    let written = backends.owners((0..HOT_USERS).map(written_key));
    runtime.block_on(async {
        let server = |url: String| async move {
            redis::Client::open(url)
                .expect("a valid URL")
                .get_multiplexed_async_connection()
                .await
                .expect("a connection")
        };
        let cluster = redis::cluster::ClusterClient::new(backends.cluster.seeds())
            .expect("valid seeds")
            .get_async_connection()
            .await
            .expect("a cluster connection");
        let mut primaries = Vec::new();
        for url in backends.primary_urls() {
            primaries.push(server(url).await);
        }
        Connections {
            single: server(backends.single.url()).await,
            cluster,
            replicated: server(backends.replicated.url()).await,
            users: Routes {
                owners: users.into(),
                primaries: primaries.clone(),
            },
            written: Routes {
                owners: written.into(),
                primaries,
            },
        }
    })
}

/// The caches under test, each built alike on both sides, connected, and the first tiers
/// holding every hot user.
fn caches(runtime: &Runtime, backends: &Backends) -> Caches {
    let url = backends.single.url();
    let seeds = backends.cluster.seeds();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let both = |build: Build| Both {
        single: build.build(RedisCache::builder(&url)),
        cluster: build.build(RedisCache::cluster_builder(&seeds)),
    };
    let caches = Caches {
        defaults: both(Build::DEFAULT),
        local_tier: both(Build::LOCAL_TIER),
        no_coalescing: both(Build::NO_COALESCING),
    };
    runtime.block_on(async {
        for both in [&caches.defaults, &caches.local_tier, &caches.no_coalescing] {
            for cache in [&both.single, &both.cluster] {
                for id in 0..HOT_USERS {
                    fixture::cached_on_redis(cache, id).await.expect("a hit");
                }
            }
        }
    });
    caches
}

fn json(id: u64) -> Vec<u8> {
    serde_json::to_vec(&fixture::user(id)).expect("a User serializes")
}

/// How the hot users fall on the cluster: distinct slots, and keys per primary.
fn spread_note(cluster: &Target) -> String {
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

fn header(backends: &Backends, settings: &Settings, took: Duration, load_before: &str) -> String {
    format!(
        "cache-aside cluster benchmark{}: redis-server {} on loopback, a single server against \
         a cluster of 3 primaries and 3 replicas; values of {} bytes of JSON; {} rounds of {} \
         ms per contender, alternating; a multi-thread Tokio runtime with {} workers; {} \
         logical CPUs, load average {load_before} before and {} after; {:.0} s in all.",
        if settings.quick {
            " (CLUSTER_BENCH_QUICK)"
        } else {
            ""
        },
        machine::redis_version(&mut backends.single.raw()),
        fixture::value_size(),
        settings.rounds,
        settings.window.as_millis(),
        machine::WORKERS,
        std::thread::available_parallelism().map_or(0, usize::from),
        load_average(),
        took.as_secs_f64()
    )
}
