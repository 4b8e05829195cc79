//! Section 1: hits on Redis through each layer, against redis-rs by hand, with 1, 64 and
//! 256 tasks over 1,000 and 1,000,000 keys; each layer with coalescing on and off.

use crate::Suite;
use crate::contenders::{Build, RedisHit, raw_connection};
use crate::measure::{Drive, Keys, Sample};
use crate::settings::Section;
use crate::table::{Goal, Row, Table, thousands};

const KEY_COUNTS: [u64; 2] = [1_000, 1_000_000];
const TASKS: [usize; 3] = [1, 64, 256];
/// The contender the targets are about: the attribute with the library's defaults.
const ATTRIBUTE: &str = "#[cached], defaults (coalescing on)";

pub fn run(suite: &Suite, table: &mut Table) {
    let url = suite.server.url();
    let on = Build::DEFAULT.redis_cache(&url);
    let off = Build::NO_COALESCING.redis_cache(&url);
    let two = Build::TWO_CONNECTIONS.redis_cache(&url);
    let (raw, second) = suite
        .runtime
        .block_on(async { (raw_connection(&url).await, raw_connection(&url).await) });
    // (label, contender, whether it uses several connections)
    let contenders = [
        (
            "raw redis-rs GET + serde_json, one connection",
            RedisHit::Raw(raw.clone()),
            false,
        ),
        (
            "raw redis-rs, 2 connections in turn",
            RedisHit::RawRoundRobin {
                connections: vec![raw, second],
                turn: 0,
            },
            true,
        ),
        (
            "RedisCache::get + serde_json, defaults (coalescing on)",
            RedisHit::Get(on.clone()),
            false,
        ),
        (
            "RedisCache::get + serde_json, coalescing off",
            RedisHit::Get(off.clone()),
            false,
        ),
        (
            "get_or_load, defaults (coalescing on)",
            RedisHit::Helper(on.clone()),
            false,
        ),
        (
            "get_or_load, coalescing off",
            RedisHit::Helper(off.clone()),
            false,
        ),
        (ATTRIBUTE, RedisHit::Attribute(on), false),
        ("#[cached], coalescing off", RedisHit::Attribute(off), false),
        (
            "#[cached], defaults but connections(2)",
            RedisHit::Attribute(two),
            true,
        ),
    ];

    for count in KEY_COUNTS {
        suite.ensure_users(count);
        let keys = Keys::Random { count };
        for tasks in TASKS {
            let drive = if tasks == 1 {
                Drive::Latency
            } else {
                Drive::Throughput { tasks }
            };
            let series = suite.alternate(
                drive,
                contenders
                    .iter()
                    // One task uses one connection at a time: more connections change nothing.
                    .filter(|(_, _, several)| tasks > 1 || !several)
                    .map(|(label, contender, _)| (*label, contender, keys.clone())),
            );
            let scenario = format!(
                "Redis hits, {tasks} task{}, {} keys",
                if tasks == 1 { "" } else { "s" },
                thousands(count as f64)
            );
            let goal = |label: &str| match (label, tasks) {
                (ATTRIBUTE, 1) => Some(Goal::AtMost(1.1)),
                (ATTRIBUTE, 64) => Some(Goal::AtLeast(2.0)),
                _ => None,
            };
            let rows = if tasks == 1 {
                Row::from_series(
                    Section::RedisHits,
                    &scenario,
                    &series,
                    |sample| sample.latency(0.5).as_secs_f64(),
                    |series| {
                        let median = series.spread(|sample| micros(sample, 0.5));
                        let p99 = series.spread(|sample| micros(sample, 0.99));
                        format!("{:.1} µs, p99 {:.1} µs", median.median, p99.median)
                    },
                    goal,
                )
            } else {
                Row::from_series(
                    Section::RedisHits,
                    &scenario,
                    &series,
                    Sample::calls_per_second,
                    |series| {
                        let rate = series.spread(Sample::calls_per_second);
                        format!("{} keys/s", thousands(rate.median))
                    },
                    goal,
                )
            };
            table.rows.extend(rows);
        }
    }
}

fn micros(sample: &Sample, fraction: f64) -> f64 {
    sample.latency(fraction).as_secs_f64() * 1e6
}
