//! A synchronous cluster connection for reading and writing keys behind the library's back.

use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterConnection};
use redis::{Cmd, FromRedisValue, RedisResult};

/// How long connecting to one node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one reply may take.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// redis-rs's synchronous `ClusterConnection` (it follows MOVED and ASK),
/// with panicking helpers for tests.
pub struct ClusterRaw {
    con: ClusterConnection,
}

impl ClusterRaw {
    /// Connects through these seeds (`redis://127.0.0.1:PORT`, any node).
    pub fn connect(seeds: &[String]) -> ClusterRaw {
        ClusterRaw::try_connect(seeds).unwrap_or_else(|error| {
            panic!("could not connect to the cluster at {seeds:?}: {error}")
        })
    }

    /// [`ClusterRaw::connect`] that returns the error instead of panicking.
    pub fn try_connect(seeds: &[String]) -> RedisResult<ClusterRaw> {
        let con = ClusterClient::builder(seeds.iter().map(String::as_str))
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(RESPONSE_TIMEOUT)
            .build()?
            .get_connection()?;
        Ok(ClusterRaw { con })
    }

    /// GET; panics on an error.
    pub fn get(&mut self, key: &str) -> Option<String> {
        self.query(redis::cmd("GET").arg(key))
    }

    /// SET; panics on an error.
    pub fn set(&mut self, key: &str, value: &str) {
        self.query::<()>(redis::cmd("SET").arg(key).arg(value));
    }

    /// Any command, routed by its key; panics on an error.
    pub fn query<T: FromRedisValue>(&mut self, cmd: &Cmd) -> T {
        self.try_query(cmd)
            .unwrap_or_else(|error| panic!("{cmd:?} through the cluster: {error}"))
    }

    /// Any command, routed by its key.
    pub fn try_query<T: FromRedisValue>(&mut self, cmd: &Cmd) -> RedisResult<T> {
        cmd.query(&mut self.con)
    }

    /// The connection, to keep.
    pub fn into_connection(self) -> ClusterConnection {
        self.con
    }

    /// The connection itself.
    pub fn connection(&mut self) -> &mut ClusterConnection {
        &mut self.con
    }
}
