//! Deleting keys, the one way every deletion does it (`delete`, the batches of
//! `delete_pattern`, `flush` and tag invalidations, and their replays).
//!
//! On a cluster a deletion must also outlive a failover. Replication is asynchronous: a
//! primary can acknowledge an `UNLINK` and die before its replica has it, and the replica
//! promoted in its place would then serve the deleted entry again, an invalidation lost.
//! So each slot's `UNLINK` goes with `WAIT 1`, in the same pipeline (the same connection,
//! which is what `WAIT` counts): the deletion counts as done once a replica has it. A
//! primary that no replica confirms within the wait is asked whether it has any (`ROLE`):
//! without replicas there is nothing a failover could promote, and the deletion is done;
//! with some, it fails as unavailable, and is kept for replay like any deletion the server
//! could not take.

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

#[cfg(feature = "cluster")]
mod replicated {
    use std::collections::HashMap;
    use std::time::Duration;

    use redis::Value;
    use redis::cluster_routing::Slot;

    use super::super::batch::Batch;
    use super::super::connection::Connection;
    use super::super::op::Op;
    use super::super::wired::Node;
    use super::unlink_cmd;
    use crate::error::{CacheError, ErrorCode};

    impl Connection {
        /// `UNLINK` and `WAIT 1` per slot, in one round trip; `ROLE` for the primaries no
        /// replica confirmed.
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
            let mut batch = Batch::new();
            let groups: Vec<Vec<&[u8]>> = by_slot.into_values().collect();
            for group in &groups {
                batch.add(group[0], unlink_cmd(group.iter().copied()));
                let mut confirm = redis::cmd("WAIT");
                confirm.arg(1).arg(wait_ms);
                batch.add(group[0], confirm);
            }
            let replies = self.batch(op, &batch).await?;
            let mut removed = 0;
            let mut unconfirmed: Vec<&[u8]> = Vec::new();
            for (group, replies) in groups.iter().zip(replies.chunks(2)) {
                let [deleted, replicas] = replies else {
                    return Err(malformed(op));
                };
                removed += count(op, deleted)?;
                if count(op, replicas)? == 0 {
                    unconfirmed.push(group[0]);
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

        /// Whether any primary that holds one of `keys` has replicas (`ROLE`, one round trip
        /// per key: this runs only when a replica was slow to confirm).
        async fn any_replicas(&self, op: Op<'_>, keys: &[&[u8]]) -> Result<bool, CacheError> {
            for key in keys {
                let owner = Node::Owner(Slot::for_key(key));
                let role = &redis::cmd("ROLE");
                let role: Value = self
                    .run(op, |mut connection| {
                        let owner = owner.clone();
                        async move { connection.query_on(&owner, role).await }
                    })
                    .await?;
                // ["master", offset, [[host, port, offset], ...]]
                if let Value::Array(role) = role
                    && matches!(role.get(2), Some(Value::Array(replicas)) if !replicas.is_empty())
                {
                    return Ok(true);
                }
            }
            Ok(false)
        }

        /// How long a deletion waits for a replica: a quarter of the deadline, so that the
        /// wait and the round trip fit in it.
        fn replica_wait(&self) -> Duration {
            (self.op_timeout / 4).max(Duration::from_millis(1))
        }
    }

    fn count(op: Op<'_>, reply: &Value) -> Result<u64, CacheError> {
        redis::from_redis_value_ref(reply).map_err(|_| malformed(op))
    }

    fn malformed(op: Op<'_>) -> CacheError {
        op.error(
            ErrorCode::Delete,
            format!("{} answered in an unexpected shape", op.command),
        )
    }
}
