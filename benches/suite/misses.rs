//! What a cold miss runs: through `#[cached]` (the lease, a body that returns at once, the
//! store), and the lease protocol's three commands by hand, the attribute's floor.

use cache_aside::{RedisCache, cached};
use redis::AsyncCommands;
use redis::aio::ConnectionLike;

use crate::fixture::{User, user};

#[cached(key = "miss:{id}", ttl = 3600, cache = cache)]
pub async fn cached_miss(cache: &RedisCache, id: u64) -> Result<User, std::io::Error> {
    Ok(user(id))
}

/// The conditional store, as the Redis adapter sends it.
const STORE_IF_LEASED: &str = r"
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then
        return 0
    end
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return 1
";

/// The conditional store as a redis-rs script (`EVALSHA`, loaded on `NOSCRIPT`).
pub fn store_if_leased() -> redis::Script {
    redis::Script::new(STORE_IF_LEASED)
}

/// A cold miss on `key` by hand: `GET`, `SET key marker NX GET PX lease`, the body (user
/// `id`), the conditional store (`store_if_leased`). On a server or a cluster connection.
pub async fn lease_by_hand(
    connection: &mut (impl ConnectionLike + Send + Sync),
    store: &redis::Script,
    key: &str,
    id: u64,
) -> User {
    let cached: Option<Vec<u8>> = connection.get(key).await.expect("GET");
    if let Some(json) = cached {
        return serde_json::from_slice(&json).expect("a User");
    }
    let marker = b"\xFFcache-aside:lease:0123456789abcdef0123456789abcdef";
    let held: Option<Vec<u8>> = redis::cmd("SET")
        .arg(key)
        .arg(marker)
        .arg("NX")
        .arg("GET")
        .arg("PX")
        .arg(10_000)
        .query_async(connection)
        .await
        .expect("SET NX GET PX");
    assert!(held.is_none(), "{key} is a cold key");
    let value = user(id);
    let json = serde_json::to_vec(&value).expect("a User serializes");
    let stored: u8 = store
        .key(key)
        .arg(marker)
        .arg(json)
        .arg("3600000")
        .invoke_async(connection)
        .await
        .expect("the conditional store");
    assert_eq!(stored, 1, "the lease on {key} held");
    value
}
