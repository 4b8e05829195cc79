//! The stores under test, behind one face: a `MemoryCache`, or a `RedisCache` on a
//! `redis-server` of its own ([`RedisServer`]) without or with its first tier, plus the views
//! the suites need: a second handle that shares no in-process state ([`Backend::twin`]), a raw
//! look at what the store holds ([`Backend::raw`], [`Backend::stored`], [`Backend::pttl`]) and
//! a write behind the library's back ([`Backend::seed`]).
//!
//! A case that runs on every store is an `async fn case(backend: Backend)`; the
//! [`matrix!`](crate::support::matrix::matrix) macro instantiates it once per backend.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{LeaseToken, MemoryCache, RedisCache, RedisCacheBuilder, SharedCache};

use super::RedisServer;
use super::cluster::{ClusterLease, RedisCluster};

/// Makes every backend's namespace unique in this process: single flight is in-process and
/// keyed by the key, so two tests must never share a key, even on different stores.
static NAMESPACES: AtomicU64 = AtomicU64::new(0);

/// The deadline of a Redis backend's operations. Generous: these tests check behaviour, not
/// speed, on a loaded 2-core machine; a timeout would make a call fail open and hide what is
/// under test.
pub const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// The first tier of a [`Kind::RedisTiered`] backend holds this many entries: room for every
/// key a case uses.
pub const TIER_ENTRIES: u64 = 10_000;
/// ... for this long at most: far longer than any case, so that an entry the tier should have
/// dropped is still there to be served (and seen) when the case reads it.
pub const TIER_MAX_TTL: Duration = Duration::from_secs(600);

/// How a backend's cache is built; the same settings apply to either store (the breaker's
/// `failure_threshold` only to Redis, which has a breaker).
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings {
    pub prefix: Option<&'static str>,
    pub max_key_size: Option<usize>,
    pub max_value_size: Option<usize>,
    pub failure_threshold: Option<u32>,
}

impl Settings {
    pub const DEFAULT: Settings = Settings {
        prefix: None,
        max_key_size: None,
        max_value_size: None,
        failure_threshold: None,
    };

    pub const fn prefix(self, prefix: &'static str) -> Settings {
        Settings {
            prefix: Some(prefix),
            ..self
        }
    }

    pub const fn max_key_size(self, bytes: usize) -> Settings {
        Settings {
            max_key_size: Some(bytes),
            ..self
        }
    }

    pub const fn max_value_size(self, bytes: usize) -> Settings {
        Settings {
            max_value_size: Some(bytes),
            ..self
        }
    }

    pub const fn failure_threshold(self, failures: u32) -> Settings {
        Settings {
            failure_threshold: Some(failures),
            ..self
        }
    }

    /// The first of `given`, or the defaults: what [`matrix!`](crate::support::matrix::matrix)
    /// passes for a case listed with or without `with <settings>`.
    pub fn or_default(given: &[Settings]) -> Settings {
        given.first().copied().unwrap_or_default()
    }

    fn memory(self) -> MemoryCache {
        let mut builder = MemoryCache::builder();
        if let Some(prefix) = self.prefix {
            builder = builder.prefix(prefix);
        }
        if let Some(bytes) = self.max_key_size {
            builder = builder.max_key_size(bytes);
        }
        if let Some(bytes) = self.max_value_size {
            builder = builder.max_value_size(bytes);
        }
        builder.build()
    }

    fn redis(self, server: &RedisServer, tier: Tier) -> RedisCache {
        self.build(RedisCache::builder(server.url()), tier)
    }

    fn cluster(self, seeds: &[String], tier: Tier) -> RedisCache {
        let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
        self.build(RedisCache::cluster_builder(&seeds), tier)
    }

    fn build(self, builder: RedisCacheBuilder, tier: Tier) -> RedisCache {
        // Opening a cluster's connection (its seeds, the slot map, a connection per node)
        // can outlast the default second on a loaded machine, and every caller waiting on a
        // failed attempt fails open: as generous as the deadline.
        let mut builder = builder.op_timeout(OP_TIMEOUT).connect_timeout(OP_TIMEOUT);
        if let Some(prefix) = self.prefix {
            builder = builder.prefix(prefix);
        }
        if let Some(bytes) = self.max_key_size {
            builder = builder.max_key_size(bytes);
        }
        if let Some(bytes) = self.max_value_size {
            builder = builder.max_value_size(bytes);
        }
        if let Some(failures) = self.failure_threshold {
            builder = builder.failure_threshold(failures);
        }
        if tier == Tier::On {
            builder = builder.local_tier(TIER_ENTRIES, TIER_MAX_TTL);
        }
        let cache = builder.build().expect("the harness URL is valid");
        // A tiered case on a cache without a tier would pass without testing the tier.
        assert_eq!(
            cache.local_tier_stats().is_some(),
            tier == Tier::On,
            "a Redis backend with its first tier {tier:?}: local_tier_stats() disagrees"
        );
        cache
    }
}

/// Which store a backend is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Memory,
    Redis,
    /// A `RedisCache` with its first tier on ([`TIER_ENTRIES`], [`TIER_MAX_TTL`]), its twin
    /// too: what two processes that both keep hot keys in memory would be.
    RedisTiered,
    /// A `RedisCache` on a Redis Cluster (3 primaries, 3 replicas), the binary's shared one,
    /// leased to one case at a time and emptied for it.
    Cluster,
    /// The same with the first tier on.
    ClusterTiered,
}

impl Kind {
    /// Whether the store is Redis (a server or a cluster).
    pub fn is_redis(self) -> bool {
        self != Kind::Memory
    }
}

/// Whether a Redis backend's caches keep a first tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tier {
    Off,
    On,
}

/// The adapter itself, for what takes a concrete type (the exported conformance suite).
#[derive(Clone)]
pub enum Adapter {
    Memory(MemoryCache),
    Redis(RedisCache),
}

/// A cache under test and, for Redis, the server behind it and a raw connection to it.
pub struct Backend {
    /// What the annotated functions are given (`cache = cache`).
    pub cache: SharedCache,
    /// A second handle onto the same store with an identity of its own, so it shares no
    /// in-process single flight with `cache`: what another process's handle would be.
    pub twin: SharedCache,
    /// A prefix unique to this backend, for the keys of its test: `m3`, `r7`, `t9`.
    pub ns: String,
    kind: Kind,
    adapter: Adapter,
    redis: Option<(RedisServer, Raw)>,
    /// On a cluster: the raw connection, and the lease on the shared cluster (dropped last,
    /// so that the next case gets the cluster only once this one's caches are gone).
    cluster: Option<(Raw, ClusterLease)>,
}

impl Backend {
    pub fn memory() -> Backend {
        Backend::memory_with(Settings::DEFAULT)
    }

    pub fn redis() -> Backend {
        Backend::redis_with(Settings::DEFAULT)
    }

    pub fn redis_tiered() -> Backend {
        Backend::redis_tiered_with(Settings::DEFAULT)
    }

    pub fn new(kind: Kind, settings: Settings) -> Backend {
        match kind {
            Kind::Memory => Backend::memory_with(settings),
            Kind::Redis => Backend::redis_with(settings),
            Kind::RedisTiered => Backend::redis_tiered_with(settings),
            Kind::Cluster => Backend::on_cluster(settings, Tier::Off),
            Kind::ClusterTiered => Backend::on_cluster(settings, Tier::On),
        }
    }

    pub fn cluster() -> Backend {
        Backend::on_cluster(Settings::DEFAULT, Tier::Off)
    }

    pub fn cluster_tiered() -> Backend {
        Backend::on_cluster(Settings::DEFAULT, Tier::On)
    }

    fn on_cluster(settings: Settings, tier: Tier) -> Backend {
        let lease = RedisCluster::shared();
        let seeds = lease.seeds();
        let cache = settings.cluster(&seeds, tier);
        let raw = Raw::cluster(&lease);
        let (kind, ns) = match tier {
            Tier::Off => (Kind::Cluster, "c"),
            Tier::On => (Kind::ClusterTiered, "ct"),
        };
        Backend {
            cache: SharedCache::new(cache.clone()),
            twin: SharedCache::new(settings.cluster(&seeds, tier)),
            ns: namespace(ns),
            kind,
            adapter: Adapter::Redis(cache),
            redis: None,
            cluster: Some((raw, lease)),
        }
    }

    pub fn memory_with(settings: Settings) -> Backend {
        let cache = settings.memory();
        Backend {
            // A view that adds nothing to the prefix: the same entries, another identity.
            twin: SharedCache::new(cache.with_prefix("")),
            cache: SharedCache::new(cache.clone()),
            ns: namespace("m"),
            kind: Kind::Memory,
            adapter: Adapter::Memory(cache),
            redis: None,
            cluster: None,
        }
    }

    pub fn redis_with(settings: Settings) -> Backend {
        Backend::on_redis(settings, Tier::Off)
    }

    pub fn redis_tiered_with(settings: Settings) -> Backend {
        Backend::on_redis(settings, Tier::On)
    }

    fn on_redis(settings: Settings, tier: Tier) -> Backend {
        let server = RedisServer::start();
        let cache = settings.redis(&server, tier);
        let raw = Raw::new(&server);
        let (kind, ns) = match tier {
            Tier::Off => (Kind::Redis, "r"),
            Tier::On => (Kind::RedisTiered, "t"),
        };
        Backend {
            cache: SharedCache::new(cache.clone()),
            twin: SharedCache::new(settings.redis(&server, tier)),
            ns: namespace(ns),
            kind,
            adapter: Adapter::Redis(cache),
            redis: Some((server, raw)),
            cluster: None,
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The adapter behind [`Backend::cache`].
    pub fn adapter(&self) -> &Adapter {
        &self.adapter
    }

    /// The server, on Redis.
    pub fn server(&self) -> Option<&RedisServer> {
        self.redis.as_ref().map(|(server, _)| server)
    }

    /// The raw connection to the server or the cluster, on Redis.
    pub fn raw(&self) -> Option<&Raw> {
        match (&self.redis, &self.cluster) {
            (Some((_, raw)), _) | (None, Some((raw, _))) => Some(raw),
            (None, None) => None,
        }
    }

    /// The cluster, on a cluster.
    pub fn redis_cluster(&self) -> Option<&RedisCluster> {
        self.cluster.as_ref().map(|(_, lease)| &**lease)
    }

    /// `ns:rest`: a key of this test.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.ns)
    }

    /// The text stored at `key` (a full key: prefix included), read behind the library's back
    /// (a raw `GET` on Redis). A lease marker (bytes starting 0xFF) is no value: a load whose
    /// result is not stored gives its lease back on a task of its own, so the marker may still
    /// be there for a moment.
    pub async fn stored(&self, key: &str) -> Option<String> {
        match self.raw() {
            Some(raw) => raw
                .get(key)
                .filter(|bytes| !LeaseToken::is_marker(bytes))
                .map(|bytes| String::from_utf8(bytes).expect("stored values here are UTF-8")),
            None => self.cache.get(key).await.expect("MemoryCache::get"),
        }
    }

    /// Redis's `PTTL`: -2 for no key, -1 for no expiry, else milliseconds left. On memory,
    /// the same from `exists` and `ttl`.
    pub async fn pttl(&self, key: &str) -> i64 {
        match self.raw() {
            Some(raw) => raw.query(redis::cmd("PTTL").arg(key)),
            None => {
                if !self.cache.exists(key).await.expect("MemoryCache::exists") {
                    return -2;
                }
                match self.cache.ttl(key).await.expect("MemoryCache::ttl") {
                    None => -1,
                    Some(left) => i64::try_from(left.as_millis()).expect("a sane TTL"),
                }
            }
        }
    }

    /// Writes `value` at `key` without a TTL, behind the library's back (a raw `SET`).
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

fn namespace(kind: &str) -> String {
    format!("{kind}{}", NAMESPACES.fetch_add(1, Ordering::Relaxed))
}

/// A plain connection to a server (or a cluster), kept for the test, to read and tamper
/// with what the store holds behind the library's back.
pub struct Raw(Mutex<Box<dyn redis::ConnectionLike + Send>>);

impl Raw {
    pub fn new(server: &RedisServer) -> Raw {
        Raw(Mutex::new(Box::new(server.raw())))
    }

    /// redis-rs's synchronous cluster connection (it follows `MOVED` and `ASK`; `KEYS` goes
    /// to every primary).
    pub fn cluster(cluster: &RedisCluster) -> Raw {
        Raw(Mutex::new(Box::new(cluster.raw().into_connection())))
    }

    /// Runs `command` and returns its reply.
    pub fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> T {
        let mut connection = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let connection: &mut dyn redis::ConnectionLike = &mut **connection;
        command
            .query(connection)
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
