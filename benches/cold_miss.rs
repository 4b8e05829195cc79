//! What a cold miss through `#[cached]` costs on Redis, against the same miss written by
//! hand with redis-rs (`GET`, then `SET ... EX` of the JSON), in one run.
//!
//!     cargo bench --bench cold_miss
//!
//! Both sides read a key nobody wrote, run a body that returns at once, and store the JSON
//! of the same struct. The contenders alternate over several rounds, each on fresh keys; the
//! table gives the median latency of a miss per round and their ratio, and the commands the
//! server ran per miss (from `INFO commandstats`, where a script's own calls count too).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{RedisCache, cached};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

const ROUNDS: usize = 7;
const MISSES_PER_ROUND: u64 = 1_000;

#[derive(Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    email: String,
}

fn user(id: u64) -> User {
    User {
        id,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
    }
}

#[cached(key = "attr:{id}", ttl = 3600, cache = cache)]
async fn through_the_attribute(cache: &RedisCache, id: u64) -> Result<User, std::io::Error> {
    Ok(user(id))
}

/// The hand-written floor: `GET`, and on a miss the body and `SET key json EX ttl`.
async fn by_hand(
    connection: &mut redis::aio::MultiplexedConnection,
    id: u64,
) -> Result<User, std::io::Error> {
    let key = format!("hand:{id}");
    let cached: Option<String> = connection.get(&key).await.map_err(std::io::Error::other)?;
    if let Some(raw) = cached {
        return serde_json::from_str(&raw).map_err(std::io::Error::other);
    }
    let value = user(id);
    let raw = serde_json::to_string(&value).map_err(std::io::Error::other)?;
    let _: () = connection
        .set_ex(&key, raw, 3600)
        .await
        .map_err(std::io::Error::other)?;
    Ok(value)
}

/// The floor of the lease protocol, by hand: `GET`, `SET key marker NX GET PX lease`, the
/// body, and the conditional store as `EVALSHA` (loaded once up front).
async fn three_commands_by_hand(
    connection: &mut redis::aio::MultiplexedConnection,
    store: &redis::Script,
    id: u64,
) -> Result<User, std::io::Error> {
    let key = format!("floor:{id}");
    let cached: Option<String> = connection.get(&key).await.map_err(std::io::Error::other)?;
    if let Some(raw) = cached {
        return serde_json::from_str(&raw).map_err(std::io::Error::other);
    }
    let marker = b"\xFFcache-aside:lease:0123456789abcdef0123456789abcdef";
    let held: Option<Vec<u8>> = redis::cmd("SET")
        .arg(&key)
        .arg(marker)
        .arg("NX")
        .arg("GET")
        .arg("PX")
        .arg(10_000)
        .query_async(connection)
        .await
        .map_err(std::io::Error::other)?;
    assert!(held.is_none(), "a cold key");
    let value = user(id);
    let raw = serde_json::to_string(&value).map_err(std::io::Error::other)?;
    let stored: u8 = store
        .key(&key)
        .arg(marker)
        .arg(raw)
        .arg("3600000")
        .invoke_async(connection)
        .await
        .map_err(std::io::Error::other)?;
    assert_eq!(stored, 1);
    Ok(value)
}

/// The conditional store, as the Redis adapter sends it.
const STORE_IF_LEASED: &str = r"
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then
        return 0
    end
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return 1
";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The calls per miss of each command the server ran for `misses` misses.
fn commands(server: &support::RedisServer, misses: u64) -> BTreeMap<String, f64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut server.raw())
        .expect("INFO commandstats");
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls: f64 = stats
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            (name != "info" && name != "config").then(|| (name.to_owned(), calls / misses as f64))
        })
        .collect()
}

fn reset_stats(server: &support::RedisServer) {
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query::<()>(&mut server.raw())
        .expect("CONFIG RESETSTAT");
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let server = support::RedisServer::start();
    let cache = RedisCache::builder(server.url())
        .op_timeout(Duration::from_secs(5))
        .build()
        .expect("a valid URL");
    let client = redis::Client::open(server.url()).expect("a valid URL");
    let mut connection = runtime
        .block_on(client.get_multiplexed_async_connection())
        .expect("a connection");
    runtime.block_on(cache.ping()).expect("connected");

    // The commands of one miss each.
    reset_stats(&server);
    runtime.block_on(async {
        for id in 0..100 {
            by_hand(&mut connection, 1_000_000 + id)
                .await
                .expect("a miss");
        }
    });
    let hand_commands = commands(&server, 100);
    reset_stats(&server);
    runtime.block_on(async {
        for id in 0..100 {
            through_the_attribute(&cache, 1_000_000 + id)
                .await
                .expect("a miss");
        }
    });
    let attribute_commands = commands(&server, 100);

    let store = redis::Script::new(STORE_IF_LEASED);
    runtime.block_on(async {
        let _: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(STORE_IF_LEASED)
            .query_async(&mut connection)
            .await
            .expect("SCRIPT LOAD");
    });
    let (mut hand, mut attribute, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut floor, mut floor_ratios) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS as u64 {
        let first = round * MISSES_PER_ROUND;
        let keys = first..first + MISSES_PER_ROUND;
        let (by_hand_median, floor_median, attribute_median) = runtime.block_on(async {
            let mut hand = Vec::with_capacity(MISSES_PER_ROUND as usize);
            let mut floor = Vec::with_capacity(MISSES_PER_ROUND as usize);
            let mut attribute = Vec::with_capacity(MISSES_PER_ROUND as usize);
            for id in keys {
                let started = Instant::now();
                std::hint::black_box(by_hand(&mut connection, id).await.expect("a miss"));
                hand.push(started.elapsed());
                let started = Instant::now();
                let value = three_commands_by_hand(&mut connection, &store, id).await;
                std::hint::black_box(value.expect("a miss"));
                floor.push(started.elapsed());
                let started = Instant::now();
                std::hint::black_box(through_the_attribute(&cache, id).await.expect("a miss"));
                attribute.push(started.elapsed());
            }
            (median(hand), median(floor), median(attribute))
        });
        ratios.push(attribute_median.as_secs_f64() / by_hand_median.as_secs_f64());
        floor_ratios.push(attribute_median.as_secs_f64() / floor_median.as_secs_f64());
        hand.push(by_hand_median);
        floor.push(floor_median);
        attribute.push(attribute_median);
    }
    ratios.sort_by(f64::total_cmp);
    floor_ratios.sort_by(f64::total_cmp);

    println!();
    println!("cold miss on Redis, {ROUNDS} rounds of {MISSES_PER_ROUND} misses each, alternating");
    println!("| contender | median miss (median of rounds) | commands per miss |");
    println!("| --- | --- | --- |");
    println!(
        "| GET + SET EX by hand | {:.1} µs | {hand_commands:?} |",
        median(hand).as_secs_f64() * 1e6
    );
    println!(
        "| GET + SET NX GET + EVALSHA by hand (the lease protocol's floor) | {:.1} µs | 3 |",
        median(floor).as_secs_f64() * 1e6
    );
    println!(
        "| #[cached] | {:.1} µs | {attribute_commands:?} |",
        median(attribute).as_secs_f64() * 1e6
    );
    println!(
        "ratio #[cached] / by hand: median {:.2}, min {:.2}, max {:.2}",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    println!(
        "ratio #[cached] / the floor: median {:.2}, min {:.2}, max {:.2}",
        floor_ratios[floor_ratios.len() / 2],
        floor_ratios[0],
        floor_ratios[floor_ratios.len() - 1]
    );
}
