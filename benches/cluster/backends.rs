//! What the benchmark runs against: one `redis-server`, one Redis Cluster (three primaries,
//! three replicas), and a second server with a replica of its own for the `WAIT` row; the
//! keys written into them before anything is measured; and what their primaries ran.

use std::cell::RefCell;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;

use crate::commands::Commands;
use crate::support::RedisServer;
use crate::support::cluster::RedisCluster;

/// How long the written keys live: longer than any run.
const FILL_TTL_SECONDS: u64 = 86_400;
/// Writes in flight at once while filling.
const FILL_IN_FLIGHT: usize = 1_000;
/// How long a replica may take to come up, or to catch up with its primary.
const REPLICATION_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one `WAIT` of that waits, in milliseconds.
const WAIT_STEP_MS: u64 = 200;

/// The servers, kept alive for the run.
pub struct Backends {
    pub single: RedisServer,
    pub cluster: RedisCluster,
    /// A server with one replica attached (`--replicaof`): what `WAIT 1` costs off a cluster.
    pub replicated: RedisServer,
    _replica: RedisServer,
}

impl Backends {
    /// Starts the three; returns once the cluster is healthy (the replica of the lone
    /// server syncs meanwhile: see [`replicated`]).
    pub fn start() -> Backends {
        let single = RedisServer::start();
        let cluster = RedisCluster::start();
        // The replica's first sync starts at once, not after 5 s of waiting for others.
        let replicated = RedisServer::start_with_args(&["--repl-diskless-sync-delay", "0"]);
        let port = replicated.port().to_string();
        let replica = RedisServer::start_with_args(&["--replicaof", "127.0.0.1", &port]);
        Backends {
            single,
            cluster,
            replicated,
            _replica: replica,
        }
    }

    /// Each side, as contenders' targets.
    pub fn targets(&self) -> Targets {
        Targets {
            single: Target::new(vec![self.single.raw()]),
            cluster: Target::new(
                self.cluster
                    .primaries()
                    .iter()
                    .map(|node| node.raw())
                    .collect(),
            ),
            replicated: Target::new(vec![self.replicated.raw()]),
        }
    }

    /// The cluster's primaries' URLs, in the order [`Backends::owners`] counts them.
    pub fn primary_urls(&self) -> Vec<String> {
        self.cluster
            .primaries()
            .iter()
            .map(|node| node.url())
            .collect()
    }

    /// For each of `keys`, the index of the primary that serves it: a routing table made by
    /// hand (see `contenders::Routes`), from one `CLUSTER SLOTS` and the keys' slots.
    pub fn owners(&self, keys: impl IntoIterator<Item = String>) -> Vec<usize> {
        let ports: Vec<u16> = self
            .cluster
            .primaries()
            .iter()
            .map(|node| node.port())
            .collect();
        let mut connection = self.cluster.primaries()[0].raw();
        let ranges = slot_owners(&mut connection);
        let mut keyslots = redis::pipe();
        for key in keys {
            keyslots.cmd("CLUSTER").arg("KEYSLOT").arg(key);
        }
        let slots: Vec<u16> = keyslots.query(&mut connection).expect("CLUSTER KEYSLOT");
        slots
            .into_iter()
            .map(|slot| {
                let (_, port) = ranges
                    .iter()
                    .find(|(range, _)| range.contains(&slot))
                    .unwrap_or_else(|| panic!("no primary serves slot {slot}"));
                ports
                    .iter()
                    .position(|primary| primary == port)
                    .expect("a slot's owner is a primary")
            })
            .collect()
    }
}

/// The three sides a contender can run on.
pub struct Targets {
    pub single: Target,
    pub cluster: Target,
    /// The server with a replica.
    pub replicated: Target,
}

/// Where a contender runs: a plain connection to each primary (replicas left out: they
/// run the replicated writes too), to read what the primaries ran while it was measured.
pub struct Target {
    primaries: RefCell<Vec<redis::Connection>>,
}

impl Target {
    fn new(primaries: Vec<redis::Connection>) -> Target {
        Target {
            primaries: RefCell::new(primaries),
        }
    }

    /// `INFO commandstats`, summed over the primaries.
    pub fn commands(&self) -> Commands {
        let mut total = Commands::default();
        for connection in self.primaries.borrow_mut().iter_mut() {
            total.add(&Commands::read(connection));
        }
        total
    }

    /// Keys on each primary (`DBSIZE`).
    pub fn keys_per_primary(&self) -> Vec<u64> {
        self.primaries
            .borrow_mut()
            .iter_mut()
            .map(|connection| redis::cmd("DBSIZE").query(connection).unwrap_or(0))
            .collect()
    }
}

/// Waits (bounded, `WAIT 1`) until a replica of each primary `connection` wrote to has
/// everything it wrote: so that a `WAIT` measured later waits for its own write only. On a
/// cluster connection redis-rs sends `WAIT` to every primary, on the connections it wrote
/// through, and answers the least count.
pub async fn replicated<C: ConnectionLike + Send + Sync>(connection: &mut C, what: &str) {
    let started = Instant::now();
    loop {
        // Each `WAIT` shorter than redis-rs's default response timeout (500 ms).
        let acknowledged: u64 = redis::cmd("WAIT")
            .arg(1)
            .arg(WAIT_STEP_MS)
            .query_async(connection)
            .await
            .expect("WAIT");
        if acknowledged >= 1 {
            return;
        }
        assert!(
            started.elapsed() < REPLICATION_TIMEOUT,
            "{what}: no replica acknowledged it within {REPLICATION_TIMEOUT:?}"
        );
    }
}

/// The slot ranges of the cluster and the port of the primary serving each
/// (`CLUSTER SLOTS`: `[start, end, [host, port, id, ...], replicas...]` per range).
fn slot_owners(connection: &mut redis::Connection) -> Vec<(RangeInclusive<u16>, u16)> {
    let ranges: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query(connection)
        .expect("CLUSTER SLOTS");
    ranges
        .into_iter()
        .map(|range| {
            let number = |value: &redis::Value| -> u16 {
                redis::from_redis_value_ref(value).expect("CLUSTER SLOTS: a number")
            };
            let node: Vec<redis::Value> =
                redis::from_redis_value_ref(&range[2]).expect("CLUSTER SLOTS: a node");
            (number(&range[0])..=number(&range[1]), number(&node[1]))
        })
        .collect()
}

/// Writes each `(key, value)` (`SET ... EX`), many at once, through any redis-rs
/// connection: a server's multiplexed one or a cluster's, which routes each write to its
/// slot's primary.
pub async fn fill<C>(connection: &C, entries: impl IntoIterator<Item = (String, Vec<u8>)>)
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let entries: Vec<(String, Vec<u8>)> = entries.into_iter().collect();
    for chunk in entries.chunks(FILL_IN_FLIGHT) {
        let writes: Vec<_> = chunk
            .iter()
            .map(|(key, value)| {
                let mut connection = connection.clone();
                let mut set = redis::cmd("SET");
                set.arg(key).arg(value).arg("EX").arg(FILL_TTL_SECONDS);
                tokio::spawn(async move { set.query_async::<()>(&mut connection).await })
            })
            .collect();
        for write in writes {
            write
                .await
                .expect("a fill task panicked")
                .expect("a write of the fill");
        }
    }
}
