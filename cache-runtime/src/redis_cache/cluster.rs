//! Redis Cluster, on redis-rs's `cluster_async`: the client and its deadlines, the
//! connection it opens to each node, batches sent one pipeline per slot, and the list of
//! primaries that `SCAN` must visit.
//!
//! Topology is redis-rs's job: it maps slots to nodes, follows `MOVED` and `ASK`, and
//! refreshes the map and reconnects after a failover. This module only bounds how long it
//! may try: its defaults (16 retries, back-off from 1.28 s, no response deadline) would
//! keep a caller far past its `op_timeout`, so retries are few and quick, and every node
//! connection and request has the cache's own deadlines.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::FutureExt;
use redis::aio::{AsyncPushSender, ConnectionLike, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisError,
    RedisFuture, RedisResult, Value,
};

use super::batch::Batch;
use super::wired::Node;

/// How many times redis-rs may retry a request (after `MOVED`, `TRYAGAIN`, a lost node
/// connection) within the operation's deadline.
const RETRIES: u32 = 4;
/// The shortest pause between two of those retries, in milliseconds.
const MIN_RETRY_WAIT_MS: u64 = 1;

/// The cluster client's settings: seeds, protocol, deadlines and retries. With a first tier
/// the connections speak RESP3 and push invalidations to `push`.
pub(super) fn client(
    seeds: Vec<ConnectionInfo>,
    op_timeout: Duration,
    connect_timeout: Duration,
    push: Option<impl AsyncPushSender>,
) -> ClusterClientBuilder {
    // Pauses of at most a quarter of the deadline, so that the retries fit within it.
    let max_wait_ms = u64::try_from(op_timeout.as_millis() / 4)
        .unwrap_or(u64::MAX)
        .max(MIN_RETRY_WAIT_MS);
    let mut builder = ClusterClientBuilder::new(seeds)
        .connection_timeout(connect_timeout)
        .response_timeout(op_timeout)
        .overall_response_timeout(Some(op_timeout))
        .retries(RETRIES)
        .min_retry_wait(MIN_RETRY_WAIT_MS)
        .max_retry_wait(max_wait_ms)
        .retry_wait_formula(2, 2);
    if let Some(push) = push {
        builder = builder
            .use_protocol(redis::ProtocolVersion::RESP3)
            .push_sender(push);
    }
    builder
}

/// Opens the cluster connection: the seeds, the slot map, and redis-rs's task driving it,
/// spawned on the current runtime.
pub(super) async fn open(client: &ClusterClient) -> RedisResult<ClusterConnection<NodeConnection>> {
    client
        .get_async_generic_connection::<NodeConnection>()
        .await
}

/// The connection redis-rs opens to one node: a multiplexed connection which, when the
/// cluster speaks RESP3 (it does with a first tier), asks the node to track the keys it
/// reads before it carries any command. So every node connection, including those opened
/// after a failover or a reshard, carries the invalidations of what it read; redis-rs
/// reports the loss of any of them (a `Disconnection` push), which clears the tier.
#[derive(Clone)]
pub(crate) struct NodeConnection(MultiplexedConnection);

impl redis::cluster_async::Connect for NodeConnection {
    fn connect_with_config<'a, T>(info: T, config: AsyncConnectionConfig) -> RedisFuture<'a, Self>
    where
        T: IntoConnectionInfo + Send + 'a,
    {
        async move {
            let info = info.into_connection_info()?;
            let tracked = info.redis_settings().protocol() != redis::ProtocolVersion::RESP2;
            let mut connection = redis::Client::open(info)?
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            if tracked {
                // Refused (an ACL without `CLIENT`): the node is not used rather than read
                // from untracked; its calls fail open and the error says why.
                redis::cmd("CLIENT")
                    .arg("TRACKING")
                    .arg("ON")
                    .query_async::<()>(&mut connection)
                    .await?;
            }
            Ok(NodeConnection(connection))
        }
        .boxed()
    }
}

impl ConnectionLike for NodeConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.0.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.0.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.0.get_db()
    }
}

/// The batch as one pipeline per slot, all sent at once (redis-rs multiplexes those for one
/// node on its connection); the replies put back in the batch's order.
pub(super) async fn send_by_slot(
    connection: &ClusterConnection<NodeConnection>,
    batch: &Batch,
) -> RedisResult<Vec<Value>> {
    let mut by_slot: HashMap<redis::cluster_routing::Slot, (Pipeline, Vec<usize>)> = HashMap::new();
    let routed = batch
        .routed()
        .ok_or_else(|| malformed("a batch made for one server was sent to a cluster"))?;
    for (index, (cmd, slot)) in routed.enumerate() {
        let (pipeline, indices) = by_slot.entry(slot).or_insert_with(|| {
            let mut pipeline = redis::pipe();
            pipeline.ignore_errors();
            (pipeline, Vec::new())
        });
        pipeline.add_command(cmd.clone());
        indices.push(index);
    }
    let groups: Vec<(Pipeline, Vec<usize>)> = by_slot.into_values().collect();
    let sent = groups.iter().map(|(pipeline, _)| {
        let mut connection = connection.clone();
        async move { pipeline.query_async::<Vec<Value>>(&mut connection).await }
    });
    let replies: Vec<Vec<Value>> = futures_util::future::try_join_all(sent).await?;
    let mut ordered = vec![Value::Nil; batch.len()];
    for ((_, indices), replies) in groups.iter().zip(replies) {
        if replies.len() != indices.len() {
            return Err(malformed(
                "a pipeline answered with the wrong number of replies",
            ));
        }
        for (&index, reply) in indices.iter().zip(replies) {
            ordered[index] = reply;
        }
    }
    Ok(ordered)
}

/// Every primary, from `CLUSTER SLOTS` (asked of any primary): the nodes `SCAN` must visit.
pub(super) async fn primaries(
    connection: &mut ClusterConnection<NodeConnection>,
) -> RedisResult<Vec<Node>> {
    let mut slots = redis::cmd("CLUSTER");
    slots.arg("SLOTS");
    let reply = connection
        .route_command(
            slots,
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::RandomPrimary),
        )
        .await?;
    let mut primaries: Vec<Node> = Vec::new();
    let Value::Array(ranges) = reply else {
        return Err(malformed("CLUSTER SLOTS answered in an unexpected shape"));
    };
    for range in ranges {
        // [start, end, [host, port, id, ...], replicas...]
        let Value::Array(range) = range else {
            return Err(malformed("CLUSTER SLOTS answered in an unexpected shape"));
        };
        let (host, port): (String, u16) = match range.get(2) {
            Some(Value::Array(primary)) if primary.len() >= 2 => (
                redis::from_redis_value(primary[0].clone())?,
                redis::from_redis_value(primary[1].clone())?,
            ),
            _ => return Err(malformed("CLUSTER SLOTS answered in an unexpected shape")),
        };
        let node = Node::Primary { host, port };
        if !primaries.contains(&node) {
            primaries.push(node);
        }
    }
    Ok(primaries)
}

/// The seeds, each parsed as a node URL; RESP3 with a first tier.
pub(super) fn seeds(nodes: &[String], resp3: bool) -> RedisResult<Vec<ConnectionInfo>> {
    nodes
        .iter()
        .map(|node| super::builder::parse_url(node, resp3))
        .collect()
}

fn malformed(what: &'static str) -> RedisError {
    RedisError::from((redis::ErrorKind::Parse, what))
}
