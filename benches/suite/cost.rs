//! Section 4: what one hit costs the client: CPU time (user + system, from `getrusage`, the
//! whole process) and heap allocations (the suite's counting allocator), per hit, for hits
//! on Redis with 64 tasks and for hits in process memory with one.

use crate::allocations;
use crate::contenders::{Build, LocalHit, RedisHit, memory_with, moka_with, raw_connection};
use crate::fixture::cached_on_redis;
use crate::measure::{Drive, Keys, Sample};
use crate::rounds::Series;
use crate::settings::Section;
use crate::table::{Row, Table, thousands};
use crate::{HOT_USERS, Suite};

const REDIS_TASKS: usize = 64;

pub fn run(suite: &Suite, table: &mut Table) {
    let url = suite.server.url();
    let on = Build::DEFAULT.redis_cache(&url);
    let off = Build::NO_COALESCING.redis_cache(&url);
    let tier = Build::LOCAL_TIER.redis_cache(&url);
    let (raw, moka, memory) = suite.runtime.block_on(async {
        for id in 0..HOT_USERS {
            cached_on_redis(&tier, id).await.expect("a hit");
        }
        let (moka, _) = moka_with(HOT_USERS).await;
        (
            raw_connection(&url).await,
            moka,
            memory_with(HOT_USERS).await,
        )
    });
    let hot = Keys::Random { count: HOT_USERS };

    allocations::set_counting(true);
    let redis = [
        ("raw redis-rs GET + serde_json", RedisHit::Raw(raw)),
        (
            "#[cached] on Redis, defaults (coalescing on)",
            RedisHit::Attribute(on),
        ),
        (
            "#[cached] on Redis, coalescing off",
            RedisHit::Attribute(off),
        ),
        (
            "#[cached] on Redis, first tier on",
            RedisHit::Attribute(tier.clone()),
        ),
    ];
    let series = suite.alternate(
        Drive::Throughput { tasks: REDIS_TASKS },
        redis
            .iter()
            .map(|(label, contender)| (*label, contender, hot.clone())),
    );
    table.rows.extend(rows(
        &format!(
            "Client cost per hit, {REDIS_TASKS} tasks, {} keys",
            thousands(HOT_USERS as f64)
        ),
        &series,
    ));

    let local = [
        ("bare moka::future::Cache get + clone", LocalHit::Moka(moka)),
        ("#[cached] on MemoryCache", LocalHit::Memory(memory)),
        (
            "#[cached] on RedisCache, first tier on",
            LocalHit::Tier(tier),
        ),
    ];
    let series = suite.alternate(
        Drive::PerCall,
        local
            .iter()
            .map(|(label, contender)| (*label, contender, hot.clone())),
    );
    table.rows.extend(rows(
        &format!(
            "Client cost per hit, 1 task, {} hot keys",
            thousands(HOT_USERS as f64)
        ),
        &series,
    ));
    allocations::set_counting(false);
}

fn rows(scenario: &str, series: &[Series]) -> Vec<Row> {
    Row::from_series(
        Section::Cost,
        scenario,
        series,
        cpu_per_call,
        |series| {
            let cpu = series.spread(cpu_per_call).median * 1e6;
            let system = series.spread(system_share).median * 100.0;
            let allocations = series.spread(allocations_per_call).median;
            format!("CPU {cpu:.2} µs ({system:.0} % system), {allocations:.1} allocations")
        },
        |_| None,
    )
}

fn cpu_per_call(sample: &Sample) -> f64 {
    sample.cpu.total().as_secs_f64() / sample.calls as f64
}

fn system_share(sample: &Sample) -> f64 {
    sample.cpu.system.as_secs_f64() / sample.cpu.total().as_secs_f64().max(f64::MIN_POSITIVE)
}

fn allocations_per_call(sample: &Sample) -> f64 {
    sample.allocations as f64 / sample.calls as f64
}
