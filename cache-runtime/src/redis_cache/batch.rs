//! Commands about several keys sent as one round trip: a pipeline on one server, and on a
//! cluster one pipeline per slot, sent at once (a cluster refuses a pipeline whose keys
//! lie in different slots). Each command names the key it is about, so that it can be
//! routed.

use redis::{Cmd, Pipeline, Value};

/// Commands for one round trip, each with the slot of its key.
pub(super) struct Batch {
    /// Every error reply is kept as a value, in its place: the caller decides what an
    /// error in one command means for the others.
    pipeline: Pipeline,
    /// Each command's slot, on a cluster (`None` for one server, which needs none: no hash
    /// is computed on its batches).
    #[cfg(feature = "cluster")]
    slots: Option<Vec<redis::cluster_routing::Slot>>,
}

impl Batch {
    /// A batch for a cluster (`routed`: each command's slot is kept) or for one server; see
    /// `Connection::new_batch`.
    #[cfg_attr(not(feature = "cluster"), allow(unused_variables))]
    pub(super) fn new(routed: bool) -> Self {
        let mut pipeline = redis::pipe();
        pipeline.ignore_errors();
        Self {
            pipeline,
            #[cfg(feature = "cluster")]
            slots: routed.then(Vec::new),
        }
    }

    /// Adds `cmd`, which is about `key` (a full key: it routes the command on a cluster).
    pub(super) fn add(&mut self, key: &[u8], cmd: Cmd) -> &mut Self {
        #[cfg(feature = "cluster")]
        if let Some(slots) = &mut self.slots {
            slots.push(redis::cluster_routing::Slot::for_key(key));
        }
        #[cfg(not(feature = "cluster"))]
        let _ = key;
        self.pipeline.add_command(cmd);
        self
    }

    #[cfg(feature = "cluster")]
    pub(super) fn len(&self) -> usize {
        self.pipeline.len()
    }

    /// The whole batch as one pipeline (for one server).
    pub(super) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Each command with its key's slot, in order; `None` for a batch made for one server.
    #[cfg(feature = "cluster")]
    pub(super) fn routed(
        &self,
    ) -> Option<impl Iterator<Item = (&Cmd, redis::cluster_routing::Slot)>> {
        let slots = self.slots.as_ref()?;
        Some(self.pipeline.cmd_iter().zip(slots.iter().copied()))
    }
}

/// The first error reply among `replies`, as an error (what a batch that must succeed as a
/// whole fails with).
pub(super) fn first_error(replies: &[Value]) -> Option<redis::RedisError> {
    replies.iter().find_map(|reply| match reply {
        Value::ServerError(error) => Some(error.clone().into()),
        _ => None,
    })
}
