//! The slot that holds every key and tag set of the workload moved between primaries while
//! 32 tasks read and invalidate: step by step (marked migrating, its keys moved while the
//! load runs, so that the source answers `ASK` for the keys it no longer has, then
//! assigned), then in one go to the third primary. Callers see no error and no stale value,
//! and once they only read, hits resume.
//!
//! Under the invalidations, a deletion that meets `ASK` is mostly queued behind others that
//! wait, so the slot is moved a third time, step by step, with the callers only reading, and
//! two rows the callers leave alone read (and held by the first tier) before it: one is
//! invalidated while its key is on the target (the source answers `ASK`), the last
//! invalidation of that row, so were it lost the read after the move and the final check
//! would see the old version; the other is changed on its new primary behind the library's
//! back once the move is done, and the next read returns the change (the move deleted the
//! key from the source, whose push dropped it from the first tier). Once the load stops,
//! every invalidation has reached its key.

use std::sync::Arc;
use std::time::Instant;

use cache_aside::prelude::*;

use crate::hits::{RESUMED_HITS, resumed_reading};
use crate::load::Load;
use crate::rig::{RECOVERY, RedisCluster, Tier, blocking, cache, eventually, logs};
use crate::settled::assert_every_row_is_latest;
use crate::workload::{LOADED_ROWS, Workload, read, update, workload};

workload!(Resharded);
workload!(ReshardedTiered);

/// Calls made in each phase: before the move, with the slot half-way, after each move.
const CALLS_PER_PHASE: u64 = 500;
/// Rows the callers leave alone, read before the third move: one is invalidated while its
/// key is on the target, the other changed on its new primary behind the library's back
/// after the move (the first tier must have dropped it when the move deleted it from the
/// source).
const INVALIDATED_ROW: usize = LOADED_ROWS;
const CHANGED_ROW: usize = LOADED_ROWS + 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_hot_slot_under_load_changes_no_result_and_loses_no_invalidation() {
    reshard::<Resharded>(Tier::Off).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_first_tier_moving_the_hot_slot_under_load_changes_no_result_and_loses_no_invalidation()
 {
    reshard::<ReshardedTiered>(Tier::On).await;
}

async fn reshard<W: Workload>(tier: Tier) {
    logs();
    let cluster = blocking(RedisCluster::start);
    let app = Arc::new(W::new(cache(&cluster, tier), "reshard"));
    let slot = cluster.slot_of(&app.key(0));
    // The slot's primary first: the slot goes to the second, the third, and back.
    let primaries: Vec<String> = blocking(|| {
        let first = cluster.primary_for_slot(slot).id().to_owned();
        let mut others: Vec<String> = cluster
            .primaries()
            .iter()
            .map(|primary| primary.id().to_owned())
            .filter(|id| *id != first)
            .collect();
        others.insert(0, first);
        others
    });
    let load = Load::start(&app);
    load.more_calls(CALLS_PER_PHASE, "before the moves").await;

    let began = Instant::now();
    let migration = blocking(|| cluster.begin_migration(slot, cluster.node(&primaries[1])));
    load.more_calls(CALLS_PER_PHASE, "with the slot marked migrating")
        .await;
    let moved = blocking(|| migration.move_keys());
    load.more_calls(CALLS_PER_PHASE, "with the slot's keys moved, ASK")
        .await;
    let moved_last = blocking(|| migration.finish());
    let stepwise = began.elapsed();
    load.more_calls(CALLS_PER_PHASE, "after the first move")
        .await;

    let began = Instant::now();
    let moved_again = blocking(|| cluster.migrate_slot(slot, cluster.node(&primaries[2])));
    let at_once = began.elapsed();
    load.more_calls(CALLS_PER_PHASE, "after the second move")
        .await;
    let health_under_invalidations = app.cache().health();

    let resumed = resumed_reading(&load, &*app).await;

    for row in [INVALIDATED_ROW, CHANGED_ROW] {
        held(&*app, row).await;
    }
    let cache = app.cache();
    eventually(
        RECOVERY,
        "no deletion waiting, so the next one is sent",
        || async move { cache.health().pending_invalidations == 0 },
    )
    .await;
    let migration = blocking(|| cluster.begin_migration(slot, cluster.node(&primaries[0])));
    let moved_back = blocking(|| migration.move_keys());
    let invalidated = update(&*app, INVALIDATED_ROW).await;
    load.more_calls(
        CALLS_PER_PHASE,
        "reading, with the slot's keys moved back, ASK",
    )
    .await;
    blocking(|| migration.finish());
    let read_back = read(&*app, INVALIDATED_ROW).await;
    assert!(
        read_back >= invalidated,
        "row {INVALIDATED_ROW} read version {read_back} after the move, though its \
         invalidation (for version {invalidated}) returned while its key was on the target"
    );
    let changed = app.source().bump(CHANGED_ROW);
    let key = app.key(CHANGED_ROW);
    blocking(|| cluster.raw().set(&key, &changed.to_string()));
    app.source().acknowledge(CHANGED_ROW, changed);
    let read_back = read(&*app, CHANGED_ROW).await;
    assert_eq!(
        read_back, changed,
        "row {CHANGED_ROW}, read before the move, was changed on its new primary, yet the \
         cache returned version {read_back}"
    );
    load.more_calls(CALLS_PER_PHASE, "after the third move")
        .await;
    let outcome = load.stop().await;

    println!(
        "reshard ({tier:?} first tier): {outcome}; slot {slot} moved step by step in \
         {stepwise:?} ({moved} keys under load, {moved_last} at the end), then at once in \
         {at_once:?} ({moved_again} keys); health while callers still invalidated \
         {health_under_invalidations:?}; reads only from then on: {RESUMED_HITS} hits \
         {resumed:?} later; third move ({moved_back} keys) with an invalidation under ASK; \
         health {:?}; first tier {:?}",
        app.cache().health(),
        app.cache().local_tier_stats()
    );
    outcome.assert_clean("callers during the moves");
    assert_every_row_is_latest(&*app, &cluster).await;
}

/// Reads `row` until the cache holds it (bounded) and, with a first tier, until the tier
/// answers a read of it.
async fn held<W: Workload>(app: &W, row: usize) {
    let key = &app.key(row);
    let tier_hits = || app.cache().local_tier_stats().map(|tier| tier.hits);
    eventually(RECOVERY, &format!("{key} held"), || async move {
        read(app, row).await;
        let before = tier_hits();
        let stored = matches!(app.cache().get(key).await, Ok(Some(_)));
        stored && tier_hits() >= before.map(|hits| hits + 1)
    })
    .await;
}
