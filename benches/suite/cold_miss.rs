//! Section 3: a cold miss, one task, fresh keys: `#[cached]` against the same miss written
//! by hand with redis-rs (`GET`, the body, `SET ... EX`), and against the lease protocol's
//! three commands by hand (its floor): latency, and the commands the server ran per miss.

use std::hint::black_box;
use std::sync::Arc;

use cache_aside::RedisCache;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

use crate::Suite;
use crate::contenders::{Build, raw_connection};
use crate::fixture::{User, user};
use crate::measure::{Drive, Hit, Keys, Sample};
use crate::misses::{cached_miss, lease_by_hand, store_if_leased};
use crate::settings::Section;
use crate::table::{Row, Table};

/// Ids of the first-tier contender's keys: apart from the other `#[cached]` contender's.
const TIER_IDS: u64 = 1 << 40;

#[derive(Clone)]
enum Miss {
    /// `GET`, and on a miss the body and `SET key json EX ttl`.
    ByHand(MultiplexedConnection),
    /// `GET`, `SET key marker NX GET PX lease`, the body, the conditional store as `EVALSHA`.
    LeaseFloor(MultiplexedConnection, Arc<redis::Script>),
    Attribute(RedisCache),
}

impl Hit for Miss {
    async fn hit(&mut self, id: u64) {
        let user = match self {
            Miss::ByHand(connection) => by_hand(connection, id).await,
            Miss::LeaseFloor(connection, store) => {
                lease_by_hand(connection, store, &format!("floor:{id}"), id).await
            }
            Miss::Attribute(cache) => cached_miss(cache, id).await.expect("a miss"),
        };
        black_box(user);
    }
}

async fn by_hand(connection: &mut MultiplexedConnection, id: u64) -> User {
    let key = format!("hand:{id}");
    let cached: Option<Vec<u8>> = connection.get(&key).await.expect("GET");
    if let Some(json) = cached {
        return serde_json::from_slice(&json).expect("a User");
    }
    let value = user(id);
    let json = serde_json::to_vec(&value).expect("a User serializes");
    let () = connection.set_ex(&key, json, 3600).await.expect("SET EX");
    value
}

pub fn run(suite: &Suite, table: &mut Table) {
    let url = suite.server.url();
    let plain = Build::DEFAULT.redis_cache(&url);
    let tier = Build::LOCAL_TIER.redis_cache(&url);
    let connection = suite.runtime.block_on(raw_connection(&url));
    let store = Arc::new(store_if_leased());
    let contenders = [
        (
            "GET + SET EX by hand",
            Miss::ByHand(connection.clone()),
            Keys::fresh_from(0),
        ),
        (
            "GET + SET NX GET + EVALSHA by hand (the lease protocol's floor)",
            Miss::LeaseFloor(connection, store),
            Keys::fresh_from(0),
        ),
        ("#[cached]", Miss::Attribute(plain), Keys::fresh_from(0)),
        (
            "#[cached], first tier on",
            Miss::Attribute(tier),
            Keys::fresh_from(TIER_IDS),
        ),
    ];
    let series = suite.alternate(
        Drive::Latency,
        contenders
            .iter()
            .map(|(label, contender, keys)| (*label, contender, keys.clone())),
    );
    table.rows.extend(Row::from_series(
        Section::ColdMiss,
        "Cold miss, 1 task, fresh keys",
        &series,
        |sample| sample.latency(0.5).as_secs_f64(),
        |series| {
            let micros = |fraction| {
                series
                    .spread(|sample: &Sample| sample.latency(fraction).as_secs_f64() * 1e6)
                    .median
            };
            format!("{:.1} µs, p99 {:.1} µs", micros(0.5), micros(0.99))
        },
        |_| None,
    ));
}
