//! Every node of the cluster down at once: a deletion the cache could not send is kept for
//! replay, however redis-rs reports the cluster's absence (with no connection left it says
//! `ClusterConnectionNotFound`, not an I/O error), and replayed once the cluster is back;
//! none is given up as if the server had refused it for good.

use std::time::Duration;

use cache_aside::prelude::*;

use crate::rig::{RedisCluster, Tier, blocking, cache, logs};
use crate::settled::caught_up;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_made_while_every_node_is_down_is_kept_and_replayed() {
    logs();
    let cluster = blocking(RedisCluster::start);
    let cache = cache(&cluster, Tier::Off);
    let key = "outage:key";
    cache
        .set(key, "cached", Some(Duration::from_secs(600)))
        .await
        .expect("a write to the cluster");

    blocking(|| cluster.nodes().iter().for_each(|node| node.kill()));
    let deleted = cache.delete(key).await;
    assert!(
        deleted.as_ref().is_err_and(|error| error.is_queued()),
        "a deletion with every node down is kept for replay: {deleted:?}"
    );
    let during = cache.health();

    blocking(|| {
        cluster.nodes().iter().for_each(|node| node.restart());
        cluster.wait_until_healthy();
    });
    caught_up(&cache).await;
    let after = cache.health();
    println!("every node down: health during the outage {during:?}, after {after:?}");
    assert_eq!(
        after.dropped_invalidations, 0,
        "a deletion was given up while the cluster was down: {after:?}"
    );
    assert_eq!(after.replayed_invalidations, 1, "{after:?}");
}
