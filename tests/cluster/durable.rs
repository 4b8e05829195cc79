//! An invalidation the cache acknowledged survives the failover of its primary, even when
//! the primary died before its replica had it.
//!
//! On one machine a replica receives every write a moment after its primary took it, so a
//! primary killed at a random moment loses nothing, and a load test cannot tell whether the
//! library waits for replicas. These tests make the replica lag on purpose before the
//! invalidation: it is frozen (SIGSTOP), and the replication link is stuffed with a value
//! larger than the sockets' buffers, so the primary holds the `UNLINK` in its own memory
//! when it is killed. The replica, thawed, is promoted without it: an invalidation
//! acknowledged then is lost, and the promoted replica serves the value it deleted.

use cache_aside::BreakerState;
use std::sync::Arc;

use crate::rig::{RECOVERY, RedisCluster, Tier, blocking, cache, eventually, logs};
use crate::settled::assert_every_row_is_latest;
use crate::support::cluster::ClusterNode;
use crate::workload::{Workload, read, update, workload};

workload!(Lagging);
workload!(Disconnected);

/// Larger than a frozen replica's receive buffer and its primary's send buffer together
/// (`tcp_rmem` may allow 32 MiB here), so that what follows it stays in the primary.
const FILLER_BYTES: usize = 64 << 20;
/// What must be left in the primary's output buffer to its replica for the test to mean
/// anything: the filler's tail, and behind it the invalidation.
const STUCK_BYTES: u64 = 1 << 20;

/// The replica is connected but far behind: the deletion's `WAIT 1` is not confirmed, the
/// primary says it has a replica (`ROLE`), so the invalidation is kept and replayed on the
/// promoted replica; no read returns the deleted version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_the_replica_had_not_received_is_replayed_after_the_failover() {
    survives::<Lagging>(Lag::Behind).await;
}

/// The replica's link is down (its primary dropped it, it is frozen and cannot reconnect),
/// but it is still the shard's replica and is promoted when the primary dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_made_while_the_replica_was_disconnected_survives_the_failover() {
    survives::<Disconnected>(Lag::Disconnected).await;
}

/// How the replica falls behind its primary before the invalidation.
#[derive(Clone, Copy, Debug)]
enum Lag {
    /// Frozen, its link stuffed: connected, but not receiving.
    Behind,
    /// Frozen, its link closed by the primary.
    Disconnected,
}

async fn survives<W: Workload>(lag: Lag) {
    logs();
    let cluster = blocking(RedisCluster::start);
    let app = Arc::new(W::new(cache(&cluster, Tier::Off), "durable"));
    let key = app.key(0);
    assert_eq!(read(&*app, 0).await, 0, "the first read loads version 0");
    let (primary, replica) = blocking(|| {
        let primary = cluster.primary_for_key(&key);
        (primary, cluster.replica_of(primary))
    });
    eventually(RECOVERY, "the cached value reaching the replica", || {
        let key = &key;
        async move { blocking(|| replica_holds(replica, key)) }
    })
    .await;

    blocking(|| {
        replica.freeze();
        match lag {
            Lag::Behind => stuff_replication(primary, &key),
            Lag::Disconnected => drop_replica_link(primary),
        }
    });
    let version = update(&*app, 0).await;
    if let Lag::Behind = lag {
        let stuck = blocking(|| replica_backlog(primary));
        assert!(
            stuck >= STUCK_BYTES,
            "only {stuck} bytes wait in the primary for the replica: the invalidation may \
             have reached the replica's socket, and the test would prove nothing"
        );
    }
    let failover = blocking(|| {
        primary.kill();
        replica.thaw();
        cluster.wait_for_failover(primary)
    });

    let cache = app.cache();
    let app_ref = &*app;
    eventually(
        RECOVERY,
        "the cache settling after the failover",
        || async move {
            let read = read(app_ref, 0).await;
            assert!(
                read >= version,
                "a read after the failover returned version {read}, whose invalidation (for \
                 version {version}) had been acknowledged before the primary died"
            );
            let health = cache.health();
            health.state == BreakerState::Closed && health.pending_invalidations == 0
        },
    )
    .await;
    println!(
        "durable invalidation ({lag:?} replica): failed over {failover:?} after the kill; \
         health {:?}",
        cache.health()
    );
    assert_every_row_is_latest(&*app, &cluster).await;
}

/// Whether the replica holds `key` (read from the replica itself).
fn replica_holds(replica: &ClusterNode, key: &str) -> bool {
    let mut con = replica.raw();
    let () = redis::cmd("READONLY")
        .query(&mut con)
        .expect("READONLY on the replica");
    let held: Option<Vec<u8>> = redis::cmd("GET")
        .arg(key)
        .query(&mut con)
        .expect("GET on the replica");
    held.is_some()
}

/// Writes a value larger than the socket buffers on `primary`, next to `key` (same slot),
/// while its replica is frozen.
fn stuff_replication(primary: &ClusterNode, key: &str) {
    let filler = format!("{key}:filler");
    let () = redis::cmd("SET")
        .arg(&filler)
        .arg(vec![b'x'; FILLER_BYTES])
        .query(&mut primary.raw())
        .expect("SET of the filler on the primary");
}

/// Has `primary` close its replicas' links (`CLIENT KILL TYPE replica`).
fn drop_replica_link(primary: &ClusterNode) {
    let killed: u64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut primary.raw())
        .expect("CLIENT KILL TYPE replica on the primary");
    assert_eq!(killed, 1, "the primary had one replica link to close");
}

/// Bytes waiting in `primary`'s output buffers to its replicas (`omem` of `CLIENT LIST`).
fn replica_backlog(primary: &ClusterNode) -> u64 {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("replica")
        .query(&mut primary.raw())
        .expect("CLIENT LIST TYPE replica on the primary");
    list.split_whitespace()
        .filter_map(|field| field.strip_prefix("omem="))
        .filter_map(|bytes| bytes.parse::<u64>().ok())
        .sum()
}
