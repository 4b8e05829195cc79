//! What the fault tests share: caches tuned to fail fast, bounds on waits, the functions'
//! counters, and a look at what the server holds behind the library's back.

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use cache_aside::prelude::*;
use cache_aside::{
    BreakerState, MemoryCacheBuilder, RedisCache, RedisCacheBuilder, SharedCache, stats_for,
};

pub use crate::support::RedisServer;
pub use crate::support::wait::eventually;

/// A short deadline, so that calls to a server that does not answer fail quickly; not so
/// short that a healthy call on a loaded machine misses it.
pub const OP_TIMEOUT: Duration = Duration::from_millis(250);
/// A short cool-down, so that recovery is quick.
pub const COOL_DOWN: Duration = Duration::from_millis(200);
/// A bound on one call that fails open: its deadline plus generous slack for a loaded 2-core
/// machine. It proves "did not hang", nothing about speed.
pub const CALL_BOUND: Duration = Duration::from_secs(2);
/// Calls made while the breaker is open, and the bound on all of them together: under 2 ms
/// a call even on a loaded machine, where a call that went to the network would cost at
/// least a connection attempt or an `op_timeout`.
pub const OPEN_CALLS: u32 = 1000;
pub const OPEN_CALLS_BOUND: Duration = Duration::from_secs(2);
/// How long a cache may take to come back once the server is reachable again: a cool-down,
/// a probe and a replay, with lots of slack.
pub const RECOVERY: Duration = Duration::from_secs(10);

/// A Redis cache at `url` that fails fast and recovers fast.
pub fn fast_failing(url: impl Into<String>) -> RedisCacheBuilder {
    RedisCache::builder(url)
        .op_timeout(OP_TIMEOUT)
        .cool_down(COOL_DOWN)
}

/// The counters of `faults::{name}` that these tests look at; all zero before its first call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub hits: u64,
    pub errors: u64,
    pub bypassed: u64,
    pub oversized: u64,
}

pub fn counters(name: &str) -> Counters {
    stats_for(&format!("faults::{name}")).map_or_else(Counters::default, |s| Counters {
        hits: s.hits,
        errors: s.errors,
        bypassed: s.bypassed,
        oversized: s.oversized,
    })
}

/// Awaits `future`, failing the test if it takes `limit` or longer; returns its output and
/// how long it took.
pub async fn timed<F: Future>(limit: Duration, what: &str, future: F) -> (F::Output, Duration) {
    let started = Instant::now();
    let output = tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"));
    let took = started.elapsed();
    assert!(took < limit, "{what} took {took:?}, the bound is {limit:?}");
    (output, took)
}

/// Runs a blocking harness call (`stop`, `restart`) without stalling the runtime's other
/// tasks. Needs a multi-thread runtime.
pub fn blocking<T>(call: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(call)
}

/// Whether the breaker of `cache` lets operations through.
pub fn is_closed(cache: &impl Cache) -> bool {
    cache.health().state == BreakerState::Closed
}

/// Waits until `cache` answers a `PING`: connected, before a fault is injected.
pub async fn connected(cache: &impl KeyValue) {
    eventually(RECOVERY, "the cache answering PING", || async move {
        cache.ping().await.is_ok()
    })
    .await;
}

/// Waits until the breaker of `cache` has closed again.
pub async fn until_closed(cache: &impl Cache, what: &str) {
    eventually(RECOVERY, what, || async move { is_closed(cache) }).await;
}

/// A plain connection to the server, kept for the test, to read and tamper with what the
/// server holds behind the library's back.
pub struct Raw(Mutex<redis::Connection>);

impl Raw {
    pub fn new(server: &RedisServer) -> Raw {
        Raw(Mutex::new(server.raw()))
    }

    /// Runs `command` and returns its reply.
    pub fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> T {
        let mut connection = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        command
            .query(&mut *connection)
            .unwrap_or_else(|error| panic!("raw {command:?}: {error}"))
    }

    /// The bytes stored at `key` (a full key: prefix included).
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.query(redis::cmd("GET").arg(key))
    }

    pub fn set(&self, key: &str, value: impl redis::ToRedisArgs) {
        self.query::<()>(redis::cmd("SET").arg(key).arg(value));
    }

    pub fn exists(&self, key: &str) -> bool {
        self.query::<u64>(redis::cmd("EXISTS").arg(key)) > 0
    }

    /// Every key matching the glob `pattern`.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = self.query(redis::cmd("KEYS").arg(pattern));
        keys.sort();
        keys
    }
}

/// A cache under test, `MemoryCache` or Redis, and a way to see what it holds.
pub struct Store {
    pub cache: SharedCache,
    redis: Option<(RedisServer, Raw)>,
}

impl Store {
    pub fn memory(builder: MemoryCacheBuilder) -> Store {
        Store {
            cache: SharedCache::new(builder.build()),
            redis: None,
        }
    }

    /// A Redis cache on a server of its own, configured by `configure`. The deadline is
    /// generous: these tests are about data, and a timeout would hide what is under test.
    pub fn redis(configure: impl FnOnce(RedisCacheBuilder) -> RedisCacheBuilder) -> Store {
        let server = RedisServer::start();
        let builder = RedisCache::builder(server.url()).op_timeout(Duration::from_secs(5));
        let cache = configure(builder)
            .build()
            .expect("the harness URL is valid");
        let raw = Raw::new(&server);
        Store {
            cache: SharedCache::new(cache),
            redis: Some((server, raw)),
        }
    }

    /// The raw connection, on Redis.
    pub fn raw(&self) -> Option<&Raw> {
        self.redis.as_ref().map(|(_, raw)| raw)
    }

    /// The value stored at `key`: a raw `GET` on Redis (a lease marker, which a load leaves
    /// for a moment when it gives its lease back, is no value), the port on memory.
    pub async fn stored(&self, key: &str) -> Option<String> {
        match self.raw() {
            Some(raw) => raw
                .get(key)
                .filter(|bytes| !cache_aside::LeaseToken::is_marker(bytes))
                .map(|bytes| String::from_utf8(bytes).expect("stored values here are UTF-8")),
            None => self.cache.get(key).await.expect("MemoryCache::get"),
        }
    }

    /// Writes `value` at `key` behind the cache's logic (raw `SET` on Redis).
    pub async fn seed(&self, key: &str, value: &str) {
        match self.raw() {
            Some(raw) => raw.set(key, value),
            None => self
                .cache
                .set(key, value, None)
                .await
                .expect("MemoryCache::set"),
        }
    }
}
