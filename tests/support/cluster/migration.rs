//! Moving one slot, with its keys, from its primary to another: resharding
//! the way `redis-cli --cluster reshard` does it, step by step.

use std::time::{Duration, Instant};

use super::health::wait_for;
use super::node::ClusterNode;
use super::view::View;
use super::{RedisCluster, SETTLE_TIMEOUT, SLOTS};

/// Keys asked for, and moved, at a time.
const BATCH: usize = 100;
/// `MIGRATE`'s own timeout, in milliseconds.
const MIGRATE_TIMEOUT_MS: u64 = 5000;
/// How long moving a slot's keys may take (load may keep adding keys to it).
const MOVE_TIMEOUT: Duration = Duration::from_secs(30);

/// A slot between [`RedisCluster::begin_migration`] and
/// [`SlotMigration::finish`]: the source answers `ASK` for the keys it no
/// longer has, the target accepts them after `ASKING`.
///
/// Dropping it unfinished leaves the slot in that state (the shared
/// cluster's next lease clears it).
#[must_use = "the slot stays half-way until `finish`"]
pub struct SlotMigration<'a> {
    cluster: &'a RedisCluster,
    slot: u16,
    source: &'a ClusterNode,
    target: &'a ClusterNode,
}

impl RedisCluster {
    /// Moves `slot` and its keys to the primary `to`, and waits until every
    /// running node agrees that `to` serves it. Returns how many keys moved.
    pub fn migrate_slot(&self, slot: u16, to: &ClusterNode) -> usize {
        let migration = self.begin_migration(slot, to);
        let moved = migration.move_keys();
        moved + migration.finish()
    }

    /// Marks `slot` as importing on the primary `to` and as migrating on
    /// the primary that serves it now, moving no key yet.
    ///
    /// Panics if `to` already serves it, or if the nodes refuse (e.g. `to`
    /// is a replica).
    pub fn begin_migration<'a>(&'a self, slot: u16, to: &ClusterNode) -> SlotMigration<'a> {
        assert!(slot < SLOTS, "slot {slot} is out of range (0..{SLOTS})");
        let source = self.primary_for_slot(slot);
        let target = self.node(to.id());
        assert!(
            source.id() != target.id(),
            "slot {slot} is already served by {}",
            target.describe()
        );
        setslot(target, slot, "IMPORTING", Some(source.id()));
        setslot(source, slot, "MIGRATING", Some(target.id()));
        SlotMigration {
            cluster: self,
            slot,
            source,
            target,
        }
    }
}

impl SlotMigration<'_> {
    /// The slot being moved.
    pub fn slot(&self) -> u16 {
        self.slot
    }

    /// The primary it is moved from.
    pub fn source(&self) -> &ClusterNode {
        self.source
    }

    /// The primary it is moved to.
    pub fn target(&self) -> &ClusterNode {
        self.target
    }

    /// Moves every key of the slot still on the source to the target
    /// (`CLUSTER GETKEYSINSLOT`, then `MIGRATE … KEYS`), until the source has
    /// none left; returns how many it moved.
    pub fn move_keys(&self) -> usize {
        let mut con = self.source.raw();
        let deadline = Instant::now() + MOVE_TIMEOUT;
        let mut moved = 0;
        loop {
            let keys: Vec<Vec<u8>> = redis::cmd("CLUSTER")
                .arg("GETKEYSINSLOT")
                .arg(self.slot)
                .arg(BATCH)
                .query(&mut con)
                .unwrap_or_else(|error| {
                    panic!(
                        "CLUSTER GETKEYSINSLOT on {}: {error}",
                        self.source.describe()
                    )
                });
            if keys.is_empty() {
                return moved;
            }
            assert!(
                Instant::now() < deadline,
                "slot {}: keys were still left on {} after {MOVE_TIMEOUT:?} of moving",
                self.slot,
                self.source.describe()
            );
            let () = redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(self.target.port())
                .arg("")
                .arg(0)
                .arg(MIGRATE_TIMEOUT_MS)
                .arg("KEYS")
                .arg(&keys)
                .query(&mut con)
                .unwrap_or_else(|error| {
                    panic!(
                        "MIGRATE of slot {} from {} to {}: {error}",
                        self.slot,
                        self.source.describe(),
                        self.target.describe()
                    )
                });
            moved += keys.len();
        }
    }

    /// Moves the keys still left on the source, assigns the slot to the
    /// target (`CLUSTER SETSLOT … NODE` on the target, the source and the
    /// other primaries), and waits until every running node agrees. Returns
    /// how many keys that last pass moved.
    pub fn finish(self) -> usize {
        let moved = self.move_keys();
        let cluster = self.cluster;
        setslot(self.target, self.slot, "NODE", Some(self.target.id()));
        setslot(self.source, self.slot, "NODE", Some(self.target.id()));
        for primary in cluster.primaries() {
            if primary.id() != self.source.id() && primary.id() != self.target.id() {
                setslot(primary, self.slot, "NODE", Some(self.target.id()));
            }
        }
        let what = format!(
            "every node agreeing that {} serves slot {}",
            self.target.describe(),
            self.slot
        );
        wait_for(&what, SETTLE_TIMEOUT, cluster.nodes(), || {
            for node in cluster.nodes().iter().filter(|node| node.is_live()) {
                let view = node
                    .probe()
                    .and_then(|mut con| View::ask(&mut con))
                    .map_err(|error| format!("{}: CLUSTER NODES: {error}", node.describe()))?;
                let owner = view.owner(self.slot).map(|entry| entry.id.as_str());
                let pending = view
                    .myself()
                    .is_some_and(|myself| myself.migrations.iter().any(|m| m.0 == self.slot));
                if owner != Some(self.target.id()) || pending {
                    return Err(format!("{} does not agree yet:\n{view}", node.describe()));
                }
            }
            Ok(())
        });
        moved
    }
}

/// `CLUSTER SETSLOT slot STATE [id]` on `node`; panics on an error reply.
pub(super) fn setslot(node: &ClusterNode, slot: u16, state: &str, id: Option<&str>) {
    let () = redis::cmd("CLUSTER")
        .arg("SETSLOT")
        .arg(slot)
        .arg(state)
        .arg(id)
        .query(&mut node.raw())
        .unwrap_or_else(|error| {
            panic!(
                "CLUSTER SETSLOT {slot} {state} {} on {}: {error}",
                id.unwrap_or(""),
                node.describe()
            )
        });
}
