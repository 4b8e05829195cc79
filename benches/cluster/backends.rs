//! What the benchmark runs against: one `redis-server`, one Redis Cluster (three primaries,
//! three replicas), and a second server with a replica of its own for the `WAIT` row; the
//! keys written into them before anything is measured; and what their primaries ran.

use std::cell::RefCell;
use std::thread;
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
/// Pause between two looks at a replica's progress (it reports it once a second).
const REPLICATION_POLL: Duration = Duration::from_millis(20);

/// The servers, kept alive for the run.
pub struct Backends {
    pub single: RedisServer,
    pub cluster: RedisCluster,
    /// A server with one replica attached (`--replicaof`): what `WAIT 1` costs off a cluster.
    pub replicated: RedisServer,
    _replica: RedisServer,
}

impl Backends {
    /// Starts the three; returns once the cluster is healthy and the replica has synced.
    pub fn start() -> Backends {
        let single = RedisServer::start();
        let cluster = RedisCluster::start();
        let replicated = RedisServer::start();
        let port = replicated.port().to_string();
        let replica = RedisServer::start_with_args(&["--replicaof", "127.0.0.1", &port]);
        let backends = Backends {
            single,
            cluster,
            replicated,
            _replica: replica,
        };
        backends
            .replicated_target()
            .settle("the replica's first sync");
        backends
    }

    /// The single server, as a contender's target.
    pub fn single_target(&self) -> Target {
        Target::new(vec![self.single.raw()])
    }

    /// The cluster's primaries, as a contender's target.
    pub fn cluster_target(&self) -> Target {
        Target::new(
            self.cluster
                .primaries()
                .iter()
                .map(|node| node.raw())
                .collect(),
        )
    }

    /// The server with a replica, as a contender's target.
    pub fn replicated_target(&self) -> Target {
        Target::new(vec![self.replicated.raw()])
    }

    /// The redis-server version, for the header.
    pub fn version(&self) -> String {
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut self.single.raw())
            .unwrap_or_default();
        info.lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .unwrap_or("?")
            .trim()
            .to_owned()
    }
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

    /// Waits (bounded) until every replica of every primary has acknowledged all the
    /// primary has written: so a `WAIT` measured later waits for its own write only.
    pub fn settle(&self, what: &str) {
        let started = Instant::now();
        for connection in self.primaries.borrow_mut().iter_mut() {
            loop {
                let info: String = redis::cmd("INFO")
                    .arg("replication")
                    .query(connection)
                    .expect("INFO replication");
                if replicas_caught_up(&info) {
                    break;
                }
                assert!(
                    started.elapsed() < REPLICATION_TIMEOUT,
                    "{what}: the replicas did not catch up within {REPLICATION_TIMEOUT:?}:\n{info}"
                );
                // Progress, not synchronisation: a replica reports its offset once a second.
                thread::sleep(REPLICATION_POLL);
            }
        }
    }
}

/// Whether `INFO replication` of a primary shows at least one replica, each online and at
/// the primary's offset.
fn replicas_caught_up(info: &str) -> bool {
    let field = |line: &str, name: &str| -> Option<u64> {
        line.split(',')
            .find_map(|part| part.strip_prefix(name))
            .and_then(|value| value.trim().parse().ok())
    };
    let Some(offset) = info
        .lines()
        .find_map(|line| line.strip_prefix("master_repl_offset:"))
        .and_then(|value| value.trim().parse::<u64>().ok())
    else {
        return false;
    };
    let replicas: Vec<&str> = info
        .lines()
        .filter(|line| line.starts_with("slave") && line.contains(":ip="))
        .collect();
    !replicas.is_empty()
        && replicas.iter().all(|line| {
            line.contains("state=online") && field(line, "offset=").is_some_and(|at| at >= offset)
        })
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
