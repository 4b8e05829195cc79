//! The Redis adapter: one lazily opened, shared, reconnecting multiplexed connection (or a
//! Redis Cluster's connection), and a deadline on every operation.
//!
//! By job:
//! - `view.rs`: the handle callers hold (its prefix, key rendering) and the port impl;
//!   `lease.rs` and `tags.rs`: leases and tags on Redis; `rate_limit.rs`: rate-limit
//!   windows; `script.rs`: the one-key scripts they run, sent by digest.
//! - `connection.rs`: what every view shares, and the transport: the connection slot, the
//!   breaker's gate, the deadline, resending, queries, pipelines, scripts and scans.
//! - `link.rs`: one connection and what its socket has seen (dead? written since?), which
//!   tells a command that never reached the server from one whose reply was lost.
//! - `wired.rs`: the connection a command goes out on, a server's or a cluster's;
//!   `batch.rs`: commands about several keys in one round trip (one pipeline per slot on a
//!   cluster); `unlink.rs`: every deletion, and on a cluster its `WAIT` for a replica;
//!   `cluster.rs` (feature `cluster`): the cluster client, its deadlines, the node
//!   connections that track keys for the first tier, and the primaries `SCAN` visits.
//! - `background.rs`: the cache's own runtime (a thread), where recovery and detached work
//!   run, so that neither ends with the caller's runtime.
//! - `op.rs`: an operation's name, code and flags, and how a redis-rs error is classified
//!   (connection trouble, deadline, a refusal that passes, one that does not).
//! - `breaker.rs`: the circuit breaker's state; `pending.rs`: deletions waiting for
//!   replay, what they cover, and how they fold; `recovery.rs`: the task that replays
//!   them and closes the breaker.

mod background;
mod batch;
mod breaker;
mod builder;
#[cfg(feature = "cluster")]
mod cluster;
mod coalesce;
mod connection;
mod key;
mod lease;
mod link;
mod op;
mod pending;
mod rate_limit;
mod recovery;
mod script;
mod tags;
mod tier;
mod unlink;
mod view;
mod wired;

pub use builder::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_CONNECTIONS, DEFAULT_COOL_DOWN, DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_MAX_PENDING_INVALIDATIONS, DEFAULT_OP_TIMEOUT, DEFAULT_SCAN_COUNT, RedisCacheBuilder,
};
pub use tier::LocalTierStats;
pub use view::RedisCache;

use connection::Connection;
use op::Op;
