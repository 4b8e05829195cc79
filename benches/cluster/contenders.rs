//! The contenders, each behind the suite's `Hit`: redis-rs by hand on either kind of
//! connection, and `#[cached]` and `#[invalidate]` on a `RedisCache` of either kind.

use std::hint::black_box;
use std::time::Duration;

use cache_aside::{RedisCache, RedisCacheBuilder, cached, invalidate};
use redis::AsyncCommands;
use redis::aio::ConnectionLike;

use crate::fixture::{User, cached_on_redis, key, user};
use crate::measure::Hit;

/// Generous, so that a loaded machine slows the rows down rather than failing them open.
const OP_TIMEOUT: Duration = Duration::from_secs(5);
/// The first tier of the rows that turn it on: every hot key fits, and none expires
/// during the run.
const TIER_ENTRIES: u64 = 10_000;
const TIER_TTL: Duration = Duration::from_secs(3_600);
/// How long a `WAIT` by hand waits for its replica, in milliseconds.
const WAIT_MS: u64 = 1_000;

/// How a `RedisCache` under test is built: the library's defaults but for these.
#[derive(Clone, Copy)]
pub struct Build {
    pub local_tier: bool,
    pub coalescing: bool,
}

impl Build {
    pub const DEFAULT: Build = Build {
        local_tier: false,
        coalescing: true,
    };
    pub const LOCAL_TIER: Build = Build {
        local_tier: true,
        ..Build::DEFAULT
    };
    pub const NO_COALESCING: Build = Build {
        coalescing: false,
        ..Build::DEFAULT
    };

    /// On `RedisCache::builder(url)` or `RedisCache::cluster_builder(seeds)` alike.
    pub fn build(self, builder: RedisCacheBuilder) -> RedisCache {
        let mut builder = builder.op_timeout(OP_TIMEOUT).coalescing(self.coalescing);
        if self.local_tier {
            builder = builder.local_tier(TIER_ENTRIES, TIER_TTL);
        }
        builder.build().expect("valid URLs")
    }
}

/// The key an invalidation deletes: written beforehand, so that every `UNLINK` deletes
/// something and is replicated (a `WAIT` after a write that changed nothing returns at once).
pub fn doomed_key(id: u64) -> String {
    format!("doomed:{id}")
}

/// A cold key's, written by the miss it is measured with.
#[cached(key = "miss:{id}", ttl = 3600, cache = cache)]
async fn cold_miss(cache: &RedisCache, id: u64) -> Result<User, std::io::Error> {
    Ok(user(id))
}

#[invalidate(key = "doomed:{id}", cache = cache)]
async fn invalidate_user(cache: &RedisCache, id: u64) -> Result<(), std::io::Error> {
    Ok(())
}

/// The floor of a hit: `GET` and `serde_json::from_slice`, on a redis-rs
/// `MultiplexedConnection` or `cluster_async::ClusterConnection`.
#[derive(Clone)]
pub struct RawGet<C>(pub C);

impl<C: ConnectionLike + Clone + Send + Sync + 'static> Hit for RawGet<C> {
    async fn hit(&mut self, id: u64) {
        let json: Option<Vec<u8>> = self.0.get(key(id)).await.expect("GET");
        let user: User = serde_json::from_slice(&json.expect("a hit")).expect("a User");
        black_box(user);
    }
}

/// The floor of a replicated deletion: `UNLINK key` and `WAIT 1`, one pipeline, by hand.
#[derive(Clone)]
pub struct UnlinkWait<C>(pub C);

impl<C: ConnectionLike + Clone + Send + Sync + 'static> Hit for UnlinkWait<C> {
    async fn hit(&mut self, id: u64) {
        let (deleted, replicas): (u64, u64) = redis::pipe()
            .cmd("UNLINK")
            .arg(doomed_key(id))
            .cmd("WAIT")
            .arg(1)
            .arg(WAIT_MS)
            .query_async(&mut self.0)
            .await
            .expect("UNLINK + WAIT");
        black_box((deleted, replicas));
    }
}

/// What a `RedisCache` is measured doing.
#[derive(Clone)]
pub enum Through {
    /// A hit through `#[cached]` (the suite's function, over the filled users).
    Hit(RedisCache),
    /// A cold miss through `#[cached]`: the lease, a body that returns at once, the store.
    ColdMiss(RedisCache),
    /// `#[invalidate]` of one key.
    Invalidate(RedisCache),
}

impl Hit for Through {
    async fn hit(&mut self, id: u64) {
        match self {
            Through::Hit(cache) => {
                black_box(cached_on_redis(cache, id).await.expect("a hit"));
            }
            Through::ColdMiss(cache) => {
                black_box(cold_miss(cache, id).await.expect("a miss"));
            }
            Through::Invalidate(cache) => {
                invalidate_user(cache, id).await.expect("an invalidation");
            }
        }
    }
}
