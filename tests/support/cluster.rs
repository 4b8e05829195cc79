//! Real local Redis Clusters for integration tests.
//!
//! A [`RedisCluster`] is six `redis-server` child processes in cluster mode
//! (three primaries, each with one replica) on loopback ports, joined by
//! `redis-cli --cluster create`. Its nodes can be killed, frozen and
//! restarted, its slots moved, and every change waited for until the
//! cluster agrees on it.
//!
//! [`RedisCluster::start`] gives a test its own cluster, killed and removed
//! when dropped. [`RedisCluster::shared`] gives the test binary one cluster,
//! started on first use, one test case at a time.
//!
//! Every node's process is tied to the test binary's life: it gets SIGKILL
//! when the binary exits, however it exits, so not even the shared cluster
//! (a static, never dropped) outlives the binary. At a normal exit the shared
//! cluster's directories are removed too.
//!
//! The nodes flag a peer as failing after 1 s without an answer
//! (`cluster-node-timeout`): a primary killed or frozen that long is failed
//! over, in about 2.5 s.

mod create;
mod health;
mod migration;
mod node;
mod raw;
mod shared;
mod spawn;
mod view;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

// The types test code names; each test binary names a part.
#[allow(unused_imports)]
pub use {
    create::REDIS_CLI_NOT_FOUND, migration::SlotMigration, node::ClusterNode, raw::ClusterRaw,
    shared::ClusterLease,
};

use health::{Condition, wait_for};
use view::View;

/// Slots of a Redis Cluster: `0..SLOTS`.
pub const SLOTS: u16 = 16384;

/// Primaries of a started cluster; each gets one replica.
const PRIMARIES: usize = 3;
/// How long a new cluster may take to agree on its configuration.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a failover may take, from the call on.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the nodes may take to agree on a slot's new owner.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

/// A running Redis Cluster of three primaries and three replicas.
///
/// Roles change with failovers: ask [`RedisCluster::primaries`] and
/// [`RedisCluster::replica_of`] rather than remembering them. Dropping it
/// kills every node and removes their directories.
pub struct RedisCluster {
    nodes: Vec<ClusterNode>,
}

impl RedisCluster {
    /// Starts six nodes on free loopback ports (bus ports, port + 10000,
    /// free too), joins them into a cluster with `redis-cli --cluster create`
    /// and waits until every node says `cluster_state:ok`, all 16384 slots
    /// are assigned, every node knows all six, and each replica's link to its
    /// primary is up, and all six agree on who serves which slots and who
    /// replicates whom. About 2 s.
    ///
    /// Panics with the nodes' log tails when that does not happen in time.
    pub fn start() -> RedisCluster {
        let nodes = (0..PRIMARIES * 2).map(|_| ClusterNode::launch()).collect();
        let cluster = RedisCluster { nodes };
        create::create(&cluster.nodes);
        cluster.wait_until_healthy();
        cluster
    }

    /// Every node, primaries and replicas, in the order they were started.
    pub fn nodes(&self) -> &[ClusterNode] {
        &self.nodes
    }

    /// `redis://127.0.0.1:PORT` of each current primary: seeds for a cluster client.
    pub fn seeds(&self) -> Vec<String> {
        self.primaries().iter().map(|node| node.url()).collect()
    }

    /// `redis://127.0.0.1:PORT` of every node, in the order of [`RedisCluster::nodes`].
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(ClusterNode::url).collect()
    }

    /// The current primaries that are not flagged as failing, as the first
    /// node that answers sees them (after a `wait_*`, every node agrees).
    pub fn primaries(&self) -> Vec<&ClusterNode> {
        let view = self.view();
        view.entries()
            .iter()
            .filter(|entry| entry.is_primary() && !entry.is_failing())
            .map(|entry| self.node(&entry.id))
            .collect()
    }

    /// The replica of `primary` (not flagged as failing). Panics if it has none.
    pub fn replica_of(&self, primary: &ClusterNode) -> &ClusterNode {
        let view = self.view();
        let replica = view
            .entries()
            .iter()
            .find(|entry| entry.primary_id.as_deref() == Some(primary.id()) && !entry.is_failing())
            .unwrap_or_else(|| {
                panic!(
                    "{} has no replica in the cluster's view:\n{view}",
                    primary.describe()
                )
            });
        self.node(&replica.id)
    }

    /// The hash slot of `key`, as the cluster computes it (`CLUSTER KEYSLOT`).
    pub fn slot_of(&self, key: &str) -> u16 {
        let node = self.live_node();
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut node.raw())
            .unwrap_or_else(|error| panic!("CLUSTER KEYSLOT on {}: {error}", node.describe()))
    }

    /// The primary the cluster says serves `slot`. Panics if none does.
    pub fn primary_for_slot(&self, slot: u16) -> &ClusterNode {
        let view = self.view();
        let owner = view
            .owner(slot)
            .unwrap_or_else(|| panic!("no node serves slot {slot}:\n{view}"));
        self.node(&owner.id)
    }

    /// The primary that serves `key`'s slot.
    pub fn primary_for_key(&self, key: &str) -> &ClusterNode {
        self.primary_for_slot(self.slot_of(key))
    }

    /// SIGKILLs the primary serving `key` and returns it (stopped; its
    /// [`ClusterNode::restart`] brings it back). Its replica takes over once
    /// the others have noticed: see [`RedisCluster::wait_for_failover`].
    pub fn kill_primary_of(&self, key: &str) -> &ClusterNode {
        let primary = self.primary_for_key(key);
        primary.kill();
        primary
    }

    /// Waits (bounded) until the cluster has replaced `old_primary`: a
    /// replica has been promoted, every running node other than it says
    /// `cluster_state:ok`, they agree on who serves which slot, and every
    /// slot is served by one of them.
    ///
    /// Returns how long it took since `old_primary` was killed or frozen
    /// through this harness (since the call if it was not).
    pub fn wait_for_failover(&self, old_primary: &ClusterNode) -> Duration {
        let since = old_primary.down_since().unwrap_or_else(Instant::now);
        let survivors: Vec<&ClusterNode> = self
            .nodes
            .iter()
            .filter(|node| node.id() != old_primary.id() && node.is_live())
            .collect();
        let what = format!("failover away from {}", old_primary.describe());
        wait_for(&what, FAILOVER_TIMEOUT, &self.nodes, || {
            health::check(
                &survivors,
                self.nodes.len(),
                Condition::ServedBy(&survivors),
            )
        });
        since.elapsed()
    }

    /// Waits (bounded) until every node is running and the cluster is
    /// whole again: the same conditions as at [`RedisCluster::start`], and no
    /// slot half-way through a migration. Use it after restarting or thawing
    /// nodes.
    pub fn wait_until_healthy(&self) {
        let all: Vec<&ClusterNode> = self.nodes.iter().collect();
        wait_for("a healthy cluster", FORM_TIMEOUT, &self.nodes, || {
            health::check(&all, self.nodes.len(), Condition::Healthy)
        });
    }

    /// FLUSHALL on every primary, then waits until each primary's running
    /// replicas have it too (`WAIT`), so no stale key is read from a replica.
    pub fn flush_all(&self) {
        let view = self.view();
        for primary in self.primaries() {
            let replicas = view
                .entries()
                .iter()
                .filter(|entry| entry.primary_id.as_deref() == Some(primary.id()))
                .filter(|entry| self.node(&entry.id).is_live())
                .count();
            let mut con = primary.raw();
            let () = redis::cmd("FLUSHALL")
                .query(&mut con)
                .unwrap_or_else(|error| panic!("FLUSHALL on {}: {error}", primary.describe()));
            let acked: usize = redis::cmd("WAIT")
                .arg(replicas)
                .arg(5000)
                .query(&mut con)
                .unwrap_or_else(|error| panic!("WAIT on {}: {error}", primary.describe()));
            assert!(
                acked >= replicas,
                "FLUSHALL on {}: {acked} of its {replicas} running replicas acknowledged it within 5 s",
                primary.describe()
            );
        }
    }

    /// A synchronous cluster connection (redis-rs `ClusterConnection`)
    /// seeded with every running node, for reading and writing keys behind
    /// the library's back.
    pub fn raw(&self) -> ClusterRaw {
        let seeds: Vec<String> = self
            .nodes
            .iter()
            .filter(|node| node.is_live())
            .map(ClusterNode::url)
            .collect();
        ClusterRaw::connect(&seeds)
    }

    /// The node with this cluster node id. Panics if it is not one of ours.
    pub fn node(&self, id: &str) -> &ClusterNode {
        self.nodes
            .iter()
            .find(|node| node.id() == id)
            .unwrap_or_else(|| panic!("node id {id} is not one of this cluster's nodes"))
    }

    /// What the first running, unfrozen node that answers says of the
    /// cluster (`CLUSTER NODES`).
    fn view(&self) -> View {
        let mut errors = String::new();
        for node in self.nodes.iter().filter(|node| node.is_live()) {
            match node.probe().and_then(|mut con| View::ask(&mut con)) {
                Ok(view) => return view,
                Err(error) => {
                    let _ = write!(errors, "\n{}: {error}", node.describe());
                }
            }
        }
        panic!("no node of the cluster answered CLUSTER NODES:{errors}");
    }

    /// The first running, unfrozen node.
    fn live_node(&self) -> &ClusterNode {
        self.nodes
            .iter()
            .find(|node| node.is_live())
            .unwrap_or_else(|| panic!("every node of the cluster is stopped or frozen"))
    }
}
