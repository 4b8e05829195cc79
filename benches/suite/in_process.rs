//! Section 2: hits served from process memory, one task, 1,000 hot keys: `#[cached]` on
//! the first tier and on `MemoryCache` against a bare `moka::future::Cache::get` of the
//! same struct, and redis-rs's own client-side cache for comparison.

use crate::contenders::{
    Build, LocalHit, TIER_ENTRIES, TIER_TTL, memory_with, moka_with, redis_rs_cached_connection,
};
use crate::fixture::cached_on_redis;
use crate::measure::{Drive, Keys, Sample};
use crate::settings::Section;
use crate::table::{Goal, Row, Table, thousands};
use crate::{HOT_USERS, Suite};

const TIER: &str = "#[cached] on RedisCache, first tier on";
const MEMORY: &str = "#[cached] on MemoryCache";
const REDIS_RS: &str = "redis-rs client-side cache (cache-aio, RESP3) GET + serde_json";

pub fn run(suite: &Suite, table: &mut Table) {
    let url = suite.server.url();
    let tier = Build::LOCAL_TIER.redis_cache(&url);
    let (moka, keys, memory, redis_rs) = suite.runtime.block_on(async {
        let (moka, keys) = moka_with(HOT_USERS).await;
        let memory = memory_with(HOT_USERS).await;
        // Read every hot key once, so that the tiers hold them all before the rounds.
        for id in 0..HOT_USERS {
            cached_on_redis(&tier, id).await.expect("a hit");
        }
        let redis_rs = match redis_rs_cached_connection(&url).await {
            Ok(connection) => Some(connection),
            Err(error) => {
                suite.note(format!(
                    "redis-rs's client-side cache did not start: {error}"
                ));
                None
            }
        };
        (moka, keys, memory, redis_rs)
    });
    let mut contenders = vec![
        (
            "bare moka::future::Cache get + clone, key formatted per call",
            LocalHit::Moka(moka.clone()),
        ),
        (
            "bare moka get + clone, keys formatted beforehand",
            LocalHit::MokaPrebuiltKeys(moka, keys),
        ),
        (MEMORY, LocalHit::Memory(memory)),
        (TIER, LocalHit::Tier(tier.clone())),
    ];
    if let Some(connection) = &redis_rs {
        contenders.push((REDIS_RS, LocalHit::RedisRsCache(connection.clone())));
    }
    let hot = Keys::Random { count: HOT_USERS };
    let series = suite.alternate(
        Drive::PerCall,
        contenders
            .iter()
            .map(|(label, contender)| (*label, contender, hot.clone())),
    );
    table.rows.extend(Row::from_series(
        Section::InProcess,
        &format!(
            "In-process hits, 1 task, {} hot keys",
            thousands(HOT_USERS as f64)
        ),
        &series,
        Sample::nanos_per_call,
        |series| {
            format!(
                "{} ns",
                thousands(series.spread(Sample::nanos_per_call).median)
            )
        },
        |label| (label == TIER || label == MEMORY).then_some(Goal::AtMost(1.5)),
    ));

    suite.note(format!(
        "Section 2, first tier: local_tier({TIER_ENTRIES}, {TIER_TTL:?}); after the rounds \
         local_tier_stats() = {:?}.",
        tier.local_tier_stats()
    ));
    match redis_rs
        .as_ref()
        .map(|connection| connection.get_cache_statistics())
    {
        Some(Some(stats)) => suite.note(format!(
            "Section 2, redis-rs's client-side cache: {} hits, {} misses, {} invalidations \
             over the warm-up and rounds; it worked if the row's Redis commands per call are \
             near none.",
            stats.hit, stats.miss, stats.invalidate
        )),
        Some(None) => suite.note(
            "Section 2, redis-rs's client-side cache: the connection has no cache statistics \
             (the cache is off)."
                .to_owned(),
        ),
        None => {}
    }
}
