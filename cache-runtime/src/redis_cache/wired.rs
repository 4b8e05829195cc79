//! The connection a command goes out on: one server's multiplexed connection, or a Redis
//! Cluster's (redis-rs's `cluster_async`, which sends each command to the node that owns
//! its key's slot, splits `MGET`, `MSET`, `UNLINK` and `DEL` by slot, follows `MOVED` and
//! `ASK`, and reconnects to nodes by itself).
//!
//! Everything above sends through this one type, so the breaker, the deadline, the resend
//! and the first tier are the same on both. What differs is here and in `batch.rs`: a
//! batch of commands about several keys goes out as one pipeline per slot on a cluster
//! (the only pipelines a cluster takes), and a command meant for every primary (`SCAN`)
//! names its node.

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

use super::batch::Batch;
#[cfg(feature = "cluster")]
use super::cluster;

/// An open connection to a server or to a cluster; clones share it.
#[derive(Clone)]
pub(super) enum Wired {
    Server(MultiplexedConnection),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection<cluster::NodeConnection>),
}

/// Where a command meant for one node goes: the server, or one primary of a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Node {
    /// The one server (or, on a cluster, wherever the command routes itself).
    Any,
    /// One primary of a cluster, by address.
    #[cfg(feature = "cluster")]
    Primary { host: String, port: u16 },
    /// The primary that owns a slot of a cluster.
    #[cfg(feature = "cluster")]
    Owner(redis::cluster_routing::Slot),
}

impl Wired {
    /// Sends `cmd` to `node`.
    pub(super) async fn query_on(&mut self, node: &Node, cmd: &Cmd) -> RedisResult<Value> {
        match (self, node) {
            #[cfg(feature = "cluster")]
            (Wired::Cluster(connection), Node::Primary { host, port }) => {
                use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
                let at = SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                };
                connection
                    .route_command(cmd.clone(), RoutingInfo::SingleNode(at))
                    .await
            }
            #[cfg(feature = "cluster")]
            (Wired::Cluster(connection), Node::Owner(slot)) => {
                use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                let owner = Route::with_slot(*slot, SlotAddr::Master);
                connection
                    .route_command(
                        cmd.clone(),
                        RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(owner)),
                    )
                    .await
            }
            (connection, _) => cmd.query_async(connection).await,
        }
    }

    /// Sends the batch: one pipeline on a server, one per slot (all at once) on a cluster.
    /// Every command's reply, in the batch's order; error replies are values.
    pub(super) async fn send_batch(&mut self, batch: &Batch) -> RedisResult<Vec<Value>> {
        match self {
            Wired::Server(connection) => batch.pipeline().query_async(connection).await,
            #[cfg(feature = "cluster")]
            Wired::Cluster(connection) => cluster::send_by_slot(connection, batch).await,
        }
    }

    /// Every primary of the cluster (see `Connection::key_holders`).
    #[cfg(feature = "cluster")]
    pub(super) async fn key_holders(&mut self) -> RedisResult<Vec<Node>> {
        match self {
            Wired::Server(_) => Ok(vec![Node::Any]),
            Wired::Cluster(connection) => cluster::primaries(connection).await,
        }
    }
}

impl ConnectionLike for Wired {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Wired::Server(connection) => connection.req_packed_command(cmd),
            #[cfg(feature = "cluster")]
            Wired::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Wired::Server(connection) => connection.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "cluster")]
            Wired::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Wired::Server(connection) => connection.get_db(),
            #[cfg(feature = "cluster")]
            Wired::Cluster(connection) => connection.get_db(),
        }
    }
}
