//! SIGKILL of the primary that serves every key of the workload, while 32 tasks read and
//! invalidate, on a cache without and with the first tier. Callers see no error and no
//! stale value, no call takes 2 s; once the load stops every invalidation has reached its
//! key.
//!
//! Hits resume once the replica is promoted, also while the callers go on invalidating: the
//! promoted primary has no replica, and its deletions skip `WAIT 1` once the cluster's
//! configuration has said so (otherwise each would wait it out, and the deletions kept
//! during the outage would be asked for again faster than they could be replayed).

use std::sync::Arc;
use std::time::Instant;

use cache_aside::stats_for;

use crate::hits::{HitWatch, hits, hits_grow, resumed_reading};
use crate::load::Load;
use crate::rig::{RECOVERY, RedisCluster, Tier, blocking, cache, logs};
use crate::settled::assert_every_row_is_latest;
use crate::workload::{Workload, workload};

workload!(Untiered);
workload!(Tiered);

/// Calls made before the kill, and after hits resumed.
const CALLS_BEFORE: u64 = 1_000;
const CALLS_AFTER: u64 = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_killed_under_load_changes_no_result_and_loses_no_invalidation() {
    failover::<Untiered>(Tier::Off).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_first_tier_a_primary_killed_under_load_changes_no_result_and_loses_no_invalidation()
{
    failover::<Tiered>(Tier::On).await;
}

async fn failover<W: Workload>(tier: Tier) {
    logs();
    let cluster = blocking(RedisCluster::start);
    let app = Arc::new(W::new(cache(&cluster, tier), "failover"));
    let load = Load::start(&app);
    load.more_calls(CALLS_BEFORE, "before the kill").await;
    assert!(hits(W::READ) > 0, "caching works before the kill");

    let watch = HitWatch::start(W::READ);
    let victim = blocking(|| cluster.kill_primary_of(&app.key(0)));
    let killed = Instant::now();
    let failover = blocking(|| cluster.wait_for_failover(victim));
    // Hits must resume once the replica is promoted, while the callers go on invalidating.
    let window = RECOVERY;
    let resumed_under_invalidations = hits_grow(W::READ, window).await.then(|| killed.elapsed());
    let health_under_invalidations = app.cache().health();
    assert!(
        resumed_under_invalidations.is_some(),
        "hits did not resume within {window:?} of the failover while callers invalidate: \
         {health_under_invalidations:?}"
    );
    let resumed_reading = resumed_reading(&load, &*app).await;
    load.more_calls(CALLS_AFTER, "after hits resumed").await;
    let outcome = load.stop().await;
    let (stopped_after, stalled_until) = watch.stop().await.longest_stall(killed);

    let stats = stats_for(W::READ).expect("the read was called");
    let under = match resumed_under_invalidations {
        Some(after) => format!("resumed {after:?} after the kill"),
        None => format!(
            "had not resumed {window:?} after the failover ({health_under_invalidations:?})"
        ),
    };
    println!(
        "failover ({tier:?} first tier): {outcome}; failed over {failover:?} after the kill; \
         while callers invalidated, hits {under}; reads only from then on: hits resumed \
         {resumed_reading:?} later; longest stall of hits: from {stopped_after:?} to \
         {stalled_until:?} after the kill; the read's cache errors {}, bypassed {}; first tier \
         {:?}",
        stats.errors,
        stats.bypassed,
        app.cache().local_tier_stats()
    );
    outcome.assert_clean("callers during the failover");
    assert_every_row_is_latest(&*app, &cluster).await;
}
