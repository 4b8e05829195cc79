//! Once the load has stopped: every invalidation reached its key. For each row, what the
//! cache serves, what the cluster holds (read behind the library's back) and what a
//! `#[cached]` call returns are each absent or the source's latest version.

use cache_aside::prelude::*;
use cache_aside::{BreakerState, LeaseToken, RedisCache};

use crate::rig::{RECOVERY, RedisCluster, blocking, eventually};
use crate::workload::{Done, Op, ROWS, Workload};

/// Waits (bounded) until the cache has replayed every deletion it kept and its breaker is
/// closed, then checks every row; panics with every row that is not the latest.
pub async fn assert_every_row_is_latest<W: Workload>(app: &W, cluster: &RedisCluster) {
    let cache = app.cache();
    caught_up(cache).await;
    let mut raw = blocking(|| cluster.raw());
    let mut wrong = Vec::new();
    for row in 0..ROWS {
        let key = app.key(row);
        let latest = app.source().latest(row);
        let held: Option<Vec<u8>> = blocking(|| raw.query(redis::cmd("GET").arg(&key)));
        let held = held.filter(|bytes| !LeaseToken::is_marker(bytes));
        if let Some(bytes) = held
            && String::from_utf8_lossy(&bytes) != latest.to_string()
        {
            wrong.push(format!(
                "{key}: the cluster holds {:?}, the latest version is {latest}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        match cache.get(&key).await {
            Ok(Some(served)) if served != latest.to_string() => wrong.push(format!(
                "{key}: the cache serves {served:?}, the latest version is {latest}"
            )),
            Ok(_) => {}
            Err(error) => wrong.push(format!("{key}: a quiescent read failed: {error}")),
        }
        match app.run(Op::Read(row, std::time::Duration::ZERO)).await {
            Done::Read(Ok(version)) if version == latest => {}
            Done::Read(returned) => wrong.push(format!(
                "{key}: a #[cached] call returned {returned:?}, the latest version is {latest}"
            )),
            Done::Updated(_) => unreachable!("a read is not an update"),
        }
    }
    assert!(
        wrong.is_empty(),
        "after the load, {} of {ROWS} rows are not the latest:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Waits (bounded) until `cache` has replayed every deletion it kept and its breaker is
/// closed.
pub async fn caught_up(cache: &RedisCache) {
    eventually(
        RECOVERY,
        "the cache replaying its waiting deletions, its breaker closed",
        || async move {
            let health = cache.health();
            health.pending_invalidations == 0 && health.state == BreakerState::Closed
        },
    )
    .await;
}
