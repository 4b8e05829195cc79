//! The contenders, each behind the suite's `Hit`: redis-rs by hand on either kind of
//! connection, and `#[cached]` and `#[invalidate]` on a `RedisCache` of either kind.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use cache_aside::{RedisCache, RedisCacheBuilder, invalidate};
use redis::AsyncCommands;
use redis::aio::{ConnectionLike, MultiplexedConnection};

use crate::fixture::{User, cached_on_redis, key, user};
use crate::measure::Hit;
use crate::misses::{cached_miss, lease_by_hand, store_if_leased};

/// Generous, so that a loaded machine slows the rows down rather than failing them open.
const OP_TIMEOUT: Duration = Duration::from_secs(5);
/// The first tier of the rows that turn it on: every hot key fits, and none expires
/// during the run.
const TIER_ENTRIES: u64 = 10_000;
const TIER_TTL: Duration = Duration::from_secs(3_600);
/// How long the keys written by hand live.
const WRITTEN_TTL_SECONDS: u64 = 3_600;
/// How long a `WAIT` by hand waits for its replica, in milliseconds.
const WAIT_MS: u64 = 1_000;

/// How a `RedisCache` under test is built: the library's defaults but for what is set, so
/// that the rows follow the defaults when they change.
#[derive(Clone, Copy)]
pub struct Build {
    pub local_tier: bool,
    pub coalescing: Option<bool>,
}

impl Build {
    /// The defaults (coalescing on for a server, off for a cluster; no tier), with the
    /// benchmark's `op_timeout`.
    pub const DEFAULT: Build = Build {
        local_tier: false,
        coalescing: None,
    };
    pub const LOCAL_TIER: Build = Build {
        local_tier: true,
        ..Build::DEFAULT
    };
    pub const NO_COALESCING: Build = Build {
        coalescing: Some(false),
        ..Build::DEFAULT
    };

    /// On `RedisCache::builder(url)` or `RedisCache::cluster_builder(seeds)` alike.
    pub fn build(self, builder: RedisCacheBuilder) -> RedisCache {
        let mut builder = builder.op_timeout(OP_TIMEOUT);
        if let Some(coalescing) = self.coalescing {
            builder = builder.coalescing(coalescing);
        }
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
        get_user(&mut self.0, id).await;
    }
}

async fn get_user(connection: &mut (impl ConnectionLike + Send + Sync), id: u64) {
    let json: Option<Vec<u8>> = connection.get(key(id)).await.expect("GET");
    let user: User = serde_json::from_slice(&json.expect("a hit")).expect("a User");
    black_box(user);
}

/// A routing table made by hand: for each id, which primary serves its key, and a
/// `MultiplexedConnection` to each primary. A cluster's commands without redis-rs's cluster
/// client: what `RawGet` on a `ClusterConnection` costs over it is that client's own.
#[derive(Clone)]
pub struct Routes {
    /// By id: indices into `primaries`.
    pub owners: Arc<[usize]>,
    pub primaries: Vec<MultiplexedConnection>,
}

impl Routes {
    fn to(&mut self, id: u64) -> &mut MultiplexedConnection {
        &mut self.primaries[self.owners[id as usize]]
    }
}

/// `RawGet` routed by hand.
#[derive(Clone)]
pub struct RoutedGet(pub Routes);

impl Hit for RoutedGet {
    async fn hit(&mut self, id: u64) {
        get_user(self.0.to(id), id).await;
    }
}

/// The key a write by hand overwrites: apart from the users, so that the first tiers
/// keep theirs.
pub fn written_key(id: u64) -> String {
    format!("written:{id}")
}

/// `SET key json EX ttl` by hand.
#[derive(Clone)]
pub struct RawSet<C>(pub C);

impl<C: ConnectionLike + Clone + Send + Sync + 'static> Hit for RawSet<C> {
    async fn hit(&mut self, id: u64) {
        set_user(&mut self.0, id).await;
    }
}

/// `RawSet` routed by hand, over the ids of `ids` only (indexed by the id asked for, in
/// turn): all of them, or only those of one primary.
#[derive(Clone)]
pub struct RoutedSet {
    pub routes: Routes,
    pub ids: Arc<[u64]>,
}

impl Hit for RoutedSet {
    async fn hit(&mut self, id: u64) {
        let id = self.ids[id as usize % self.ids.len()];
        set_user(self.routes.to(id), id).await;
    }
}

async fn set_user(connection: &mut (impl ConnectionLike + Send + Sync), id: u64) {
    let json = serde_json::to_vec(&user(id)).expect("a User serializes");
    let () = connection
        .set_ex(written_key(id), json, WRITTEN_TTL_SECONDS)
        .await
        .expect("SET EX");
}

/// The floor of a cold miss: the lease protocol's three commands by hand (`GET`,
/// `SET key marker NX GET PX`, the conditional store as `EVALSHA`), the body between.
#[derive(Clone)]
pub struct LeaseByHand<C> {
    pub connection: C,
    pub store: Arc<redis::Script>,
}

impl<C> LeaseByHand<C> {
    pub fn new(connection: C) -> Self {
        LeaseByHand {
            connection,
            store: Arc::new(store_if_leased()),
        }
    }
}

impl<C: ConnectionLike + Clone + Send + Sync + 'static> Hit for LeaseByHand<C> {
    async fn hit(&mut self, id: u64) {
        let key = format!("lease:{id}");
        black_box(lease_by_hand(&mut self.connection, &self.store, &key, id).await);
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
                black_box(cached_miss(cache, id).await.expect("a miss"));
            }
            Through::Invalidate(cache) => {
                invalidate_user(cache, id).await.expect("an invalidation");
            }
        }
    }
}
