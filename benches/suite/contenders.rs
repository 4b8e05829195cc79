//! The contenders whose hits are measured, each behind `Hit`, and the caches they run on.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{MemoryCache, RedisCache, get_or_load};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

use crate::fixture::{User, cached_on_memory, cached_on_redis, key, never_called};
use crate::measure::Hit;

/// The TTL the helper is given, as `#[cached]` is (it only matters on a miss).
const TTL: Option<Duration> = Some(Duration::from_secs(3600));
/// The first tier of the rows that turn it on: every hot key fits.
pub const TIER_ENTRIES: u64 = 10_000;
pub const TIER_TTL: Duration = Duration::from_secs(60);

/// How a `RedisCache` under test is built: the library's defaults but for what is set, so
/// that the rows follow the defaults when they change.
#[derive(Clone, Copy)]
pub struct Build {
    coalescing: Option<bool>,
    connections: Option<usize>,
    local_tier: bool,
}

impl Build {
    /// The defaults (coalescing on, `DEFAULT_CONNECTIONS`, no tier).
    pub const DEFAULT: Build = Build {
        coalescing: None,
        connections: None,
        local_tier: false,
    };
    pub const NO_COALESCING: Build = Build {
        coalescing: Some(false),
        ..Build::DEFAULT
    };
    pub const TWO_CONNECTIONS: Build = Build {
        connections: Some(2),
        ..Build::DEFAULT
    };
    pub const LOCAL_TIER: Build = Build {
        local_tier: true,
        ..Build::DEFAULT
    };

    pub fn redis_cache(self, url: &str) -> RedisCache {
        let mut builder = RedisCache::builder(url).op_timeout(Duration::from_secs(5));
        if let Some(coalescing) = self.coalescing {
            builder = builder.coalescing(coalescing);
        }
        if let Some(connections) = self.connections {
            builder = builder.connections(connections);
        }
        if self.local_tier {
            builder = builder.local_tier(TIER_ENTRIES, TIER_TTL);
        }
        builder.build().expect("a valid URL")
    }
}

/// A hit on Redis, through redis-rs by hand or through one of the library's layers.
#[derive(Clone)]
pub enum RedisHit {
    /// The floor: one `MultiplexedConnection`, `GET`, `serde_json::from_slice`.
    Raw(MultiplexedConnection),
    /// The floor on several connections, taken in turn by each task.
    RawRoundRobin {
        connections: Vec<MultiplexedConnection>,
        turn: usize,
    },
    /// `RedisCache::get`, then `serde_json::from_str`.
    Get(RedisCache),
    /// `cache_aside::get_or_load`.
    Helper(RedisCache),
    /// A `#[cached]` function.
    Attribute(RedisCache),
}

impl Hit for RedisHit {
    async fn hit(&mut self, id: u64) {
        let user: User = match self {
            RedisHit::Raw(connection) => raw_get(connection, id).await,
            RedisHit::RawRoundRobin { connections, turn } => {
                *turn = (*turn + 1) % connections.len();
                raw_get(&mut connections[*turn], id).await
            }
            RedisHit::Get(cache) => {
                let json = cache.get(&key(id)).await.expect("RedisCache::get");
                serde_json::from_str(&json.expect("a hit")).expect("a User")
            }
            RedisHit::Helper(cache) => get_or_load(cache, &key(id), TTL, never_called)
                .await
                .expect("a hit"),
            RedisHit::Attribute(cache) => cached_on_redis(cache, id).await.expect("a hit"),
        };
        black_box(user);
    }
}

async fn raw_get(connection: &mut MultiplexedConnection, id: u64) -> User {
    let json: Option<Vec<u8>> = connection.get(key(id)).await.expect("GET");
    serde_json::from_slice(&json.expect("a hit")).expect("a User")
}

/// One multiplexed redis-rs connection, as the floor uses.
pub async fn raw_connection(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("a valid URL")
        .get_multiplexed_async_connection()
        .await
        .expect("a connection")
}

/// A hit that may be served from process memory.
#[derive(Clone)]
pub enum LocalHit {
    /// The baseline: `moka::future::Cache::get` of the struct (a clone), the key formatted
    /// per call as a function keyed by its argument would.
    Moka(moka::future::Cache<String, User>),
    /// The same with the keys formatted beforehand: what the key's `format!` costs.
    MokaPrebuiltKeys(moka::future::Cache<String, User>, Arc<[String]>),
    /// A `#[cached]` function on `MemoryCache`.
    Memory(MemoryCache),
    /// A `#[cached]` function on a `RedisCache` with its first tier on.
    Tier(RedisCache),
    /// redis-rs's own client-side cache (`cache-aio`, RESP3): `GET`, then serde_json.
    RedisRsCache(MultiplexedConnection),
}

impl Hit for LocalHit {
    async fn hit(&mut self, id: u64) {
        let user: User = match self {
            LocalHit::Moka(cache) => cache.get(&key(id)).await.expect("a hit"),
            LocalHit::MokaPrebuiltKeys(cache, keys) => {
                cache.get(&keys[id as usize]).await.expect("a hit")
            }
            LocalHit::Memory(cache) => cached_on_memory(cache, id).await.expect("a hit"),
            LocalHit::Tier(cache) => cached_on_redis(cache, id).await.expect("a hit"),
            LocalHit::RedisRsCache(connection) => raw_get(connection, id).await,
        };
        black_box(user);
    }
}

/// A bare moka cache holding users `0..count`, with their keys.
pub async fn moka_with(count: u64) -> (moka::future::Cache<String, User>, Arc<[String]>) {
    let cache = moka::future::Cache::new(TIER_ENTRIES);
    for id in 0..count {
        cache.insert(key(id), crate::fixture::user(id)).await;
    }
    let keys = (0..count).map(key).collect();
    (cache, keys)
}

/// A `MemoryCache` holding users `0..count`, as `#[cached]` stored them.
pub async fn memory_with(count: u64) -> MemoryCache {
    let cache = MemoryCache::new();
    crate::fixture::fill_memory(&cache, 0..count).await;
    cache
}

/// A redis-rs connection with its client-side cache on (RESP3, mode `All`); an error if
/// redis-rs refuses it (the suite then reports that instead of the row).
pub async fn redis_rs_cached_connection(url: &str) -> redis::RedisResult<MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new().set_cache_config(
        redis::caching::CacheConfig::new().set_mode(redis::caching::CacheMode::All),
    );
    redis::Client::open(format!("{url}/?protocol=resp3"))?
        .get_multiplexed_async_connection_with_config(&config)
        .await
}
