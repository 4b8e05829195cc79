//! Deleting keys, the one way every deletion does it (`delete`, the batches of
//! `delete_pattern`, `flush` and tag invalidations, and their replays).
//!
//! On a cluster a deletion must also outlive a failover. Replication is asynchronous: a
//! primary can acknowledge an `UNLINK` and die before its replica has it, and the replica
//! promoted in its place would then serve the deleted entry again, an invalidation lost.
//! So each slot's `UNLINK` goes with `WAIT 1`, in the same pipeline (the same connection,
//! which is what `WAIT` counts): the deletion counts as done once a replica has it. When no
//! replica confirms within the wait, the slot's primary is asked which replicas the
//! cluster's configuration gives it (`CLUSTER NODES`), connected or not, since a replica
//! whose link is down can still be promoted:
//! - none (or only replicas the cluster has marked failed): there is nothing a failover
//!   could promote, the deletion is done, and the slot's deletions skip `WAIT` for a moment
//!   ([`NO_REPLICA_MEMORY`]), so that a primary left alone after a failover does not cost
//!   every deletion a wait (while deletions wait for replay, that would keep them waiting);
//! - some: the deletion fails as unavailable, and is kept for replay like any deletion the
//!   server could not take.

use redis::Cmd;

use super::connection::Connection;
use super::op::Op;
use crate::error::CacheError;

impl Connection {
    /// Deletes `keys` (full keys); how many there were.
    pub(super) async fn unlink<K: AsRef<[u8]>>(
        &self,
        op: Op<'_>,
        keys: &[K],
    ) -> Result<u64, CacheError> {
        #[cfg(feature = "cluster")]
        if self.is_cluster() {
            return self.unlink_replicated(op, keys).await;
        }
        self.query(op, &unlink_cmd(keys.iter().map(AsRef::as_ref)))
            .await
    }
}

fn unlink_cmd<'a>(keys: impl Iterator<Item = &'a [u8]>) -> Cmd {
    let mut cmd = redis::cmd("UNLINK");
    for key in keys {
        cmd.arg(key);
    }
    cmd
}

/// How long a slot whose primary had no replica is remembered so: its deletions skip
/// `WAIT` meanwhile. A replica that attaches in that moment starts from a copy taken after
/// the deletions it missed, so all a failover then could lose is a deletion made during its
/// first sync.
#[cfg(feature = "cluster")]
pub(super) const NO_REPLICA_MEMORY: std::time::Duration = std::time::Duration::from_secs(1);

#[cfg(feature = "cluster")]
pub(super) use replicated::Unreplicated;

#[cfg(feature = "cluster")]
mod replicated {
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};
    use std::time::{Duration, Instant};

    use redis::Value;
    use redis::cluster_routing::Slot;

    use super::super::connection::Connection;
    use super::super::op::Op;
    use super::super::wired::Node;
    use super::{NO_REPLICA_MEMORY, unlink_cmd};
    use crate::error::{CacheError, ErrorCode};

    /// The slots whose primary had no replica when last asked, and until when that holds.
    #[derive(Default)]
    pub(in super::super) struct Unreplicated(Mutex<HashMap<Slot, Instant>>);

    impl Unreplicated {
        fn holds(&self, slot: Slot) -> bool {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&slot)
                .is_some_and(|until| *until > Instant::now())
        }

        fn remember(&self, slots: impl Iterator<Item = Slot>) {
            let now = Instant::now();
            let mut unreplicated = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            unreplicated.retain(|_, until| *until > now);
            unreplicated.extend(slots.map(|slot| (slot, now + NO_REPLICA_MEMORY)));
        }
    }

    impl Connection {
        /// `UNLINK` and `WAIT 1` per slot, in one round trip (`UNLINK` alone for a slot
        /// remembered without replicas); `CLUSTER NODES` for the primaries no replica
        /// confirmed.
        pub(super) async fn unlink_replicated<K: AsRef<[u8]>>(
            &self,
            op: Op<'_>,
            keys: &[K],
        ) -> Result<u64, CacheError> {
            let mut by_slot: HashMap<Slot, Vec<&[u8]>> = HashMap::new();
            for key in keys {
                let key = key.as_ref();
                by_slot.entry(Slot::for_key(key)).or_default().push(key);
            }
            let wait = self.replica_wait();
            let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut batch = self.new_batch();
            let groups: Vec<(Slot, Vec<&[u8]>, bool)> = by_slot
                .into_iter()
                .map(|(slot, keys)| (slot, keys, !self.unreplicated.holds(slot)))
                .collect();
            for (_, keys, confirmed) in &groups {
                batch.add(keys[0], unlink_cmd(keys.iter().copied()));
                if *confirmed {
                    let mut confirm = redis::cmd("WAIT");
                    confirm.arg(1).arg(wait_ms);
                    batch.add(keys[0], confirm);
                }
            }
            let mut replies = self.batch(op, &batch).await?.into_iter();
            let mut removed = 0;
            let mut unconfirmed: Vec<Slot> = Vec::new();
            for (slot, _, confirmed) in &groups {
                removed += count(op, replies.next())?;
                if *confirmed && count(op, replies.next())? == 0 {
                    unconfirmed.push(*slot);
                }
            }
            if !unconfirmed.is_empty() && self.any_replicas(op, &unconfirmed).await? {
                return Err(op.error(
                    ErrorCode::Timeout,
                    format!(
                        "{} was not confirmed by a replica within {wait:?}: a failover could \
                         lose it",
                        op.command
                    ),
                ));
            }
            Ok(removed)
        }

        /// Whether the primary of any of `slots` has a replica in the cluster's configuration
        /// (one `CLUSTER NODES` per slot: this runs only when no replica confirmed); those
        /// without are remembered.
        async fn any_replicas(&self, op: Op<'_>, slots: &[Slot]) -> Result<bool, CacheError> {
            let nodes = &redis::cmd("CLUSTER").arg("NODES").to_owned();
            let mut alone = Vec::new();
            for &slot in slots {
                let owner = Node::Owner(slot);
                let configuration: String = self
                    .run(op, |mut connection| {
                        let owner = owner.clone();
                        async move {
                            Ok(redis::from_redis_value(
                                connection.query_on(&owner, nodes).await?,
                            )?)
                        }
                    })
                    .await?;
                if has_replicas(&configuration) {
                    return Ok(true);
                }
                alone.push(slot);
            }
            self.unreplicated.remember(alone.into_iter());
            Ok(false)
        }

        /// How long a deletion waits for a replica: a quarter of the deadline, so that the
        /// wait and the round trip fit in it.
        fn replica_wait(&self) -> Duration {
            (self.op_timeout / 4).max(Duration::from_millis(1))
        }
    }

    /// Whether the node that answered `CLUSTER NODES` with `configuration` has a replica the
    /// cluster has not marked failed (`fail`; a replica only suspected, `fail?`, counts).
    /// Lines are `id address flags primary-id ...`. When it cannot be told, it has.
    pub(super) fn has_replicas(configuration: &str) -> bool {
        let nodes: Vec<Vec<&str>> = configuration
            .lines()
            .map(|line| line.split(' ').collect())
            .collect();
        let flagged = |node: &[&str], flag: &str| {
            node.get(2)
                .is_some_and(|flags| flags.split(',').any(|each| each == flag))
        };
        let Some(myself) = nodes.iter().find(|node| flagged(node, "myself")) else {
            return true;
        };
        nodes
            .iter()
            .any(|node| node.get(3) == Some(&myself[0]) && !flagged(node, "fail"))
    }

    fn count(op: Op<'_>, reply: Option<Value>) -> Result<u64, CacheError> {
        reply
            .and_then(|reply| redis::from_redis_value(reply).ok())
            .ok_or_else(|| malformed(op))
    }

    fn malformed(op: Op<'_>) -> CacheError {
        op.error(
            ErrorCode::Delete,
            format!("{} answered in an unexpected shape", op.command),
        )
    }

    #[cfg(test)]
    mod tests {
        use super::has_replicas;

        const PRIMARY: &str = "aaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n";

        #[test]
        fn a_primary_has_the_replicas_its_configuration_names_unless_failed() {
            assert!(!has_replicas(PRIMARY), "none");
            let replica = "bbb 127.0.0.1:7001@17001 slave aaa 0 0 1 connected\n";
            assert!(has_replicas(&format!("{PRIMARY}{replica}")));
            let suspected = "bbb 127.0.0.1:7001@17001 slave,fail? aaa 0 0 1 disconnected\n";
            assert!(
                has_replicas(&format!("{PRIMARY}{suspected}")),
                "may come back"
            );
            let failed = "bbb 127.0.0.1:7001@17001 slave,fail aaa 0 0 1 disconnected\n";
            assert!(!has_replicas(&format!("{PRIMARY}{failed}")));
            let others = "ccc 127.0.0.1:7002@17002 slave ddd 0 0 1 connected\n";
            assert!(
                !has_replicas(&format!("{PRIMARY}{others}")),
                "another's replica"
            );
            assert!(has_replicas("garbage"), "cannot tell: assumed to have");
        }
    }
}
