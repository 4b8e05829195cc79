//! What every section reads: the cached struct, its keys, the functions under `#[cached]`,
//! and the keys written into Redis before anything is measured.

use std::ops::Range;
use std::time::{Duration, Instant};

use cache_aside::{MemoryCache, RedisCache, cached};
use serde::{Deserialize, Serialize};

/// How long the filled keys live in Redis: longer than any run.
const FILL_TTL_SECONDS: u64 = 86_400;
/// Keys written in one pipeline while filling.
const FILL_PIPELINE: u64 = 10_000;
/// Keys in one `MSET` while filling.
const MSET_KEYS: u64 = 1_000;

/// The cached value: a small struct whose JSON is about 80 bytes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub active: bool,
    pub logins: u32,
}

pub fn user(id: u64) -> User {
    User {
        id,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        active: true,
        logins: 42,
    }
}

/// The key of user `id`, as every contender spells it (`#[cached]` renders the same).
pub fn key(id: u64) -> String {
    format!("user:{id}")
}

/// The size of one stored value, for the header.
pub fn value_size() -> usize {
    serde_json::to_vec(&user(123_456)).map_or(0, |json| json.len())
}

/// A hit never runs a body: if one runs, the row measured something else, so say so.
pub async fn never_called() -> Result<User, std::io::Error> {
    Err(std::io::Error::other(
        "a miss where the suite expected a hit",
    ))
}

#[cached(key = "user:{id}", ttl = 3600, cache = cache)]
pub async fn cached_on_redis(cache: &RedisCache, id: u64) -> Result<User, std::io::Error> {
    never_called().await
}

#[cached(key = "user:{id}", ttl = 3600, cache = cache)]
pub async fn cached_on_memory(cache: &MemoryCache, id: u64) -> Result<User, std::io::Error> {
    never_called().await
}

/// Writes users `ids` into Redis as JSON, in pipelines over one plain connection: a
/// million keys take seconds. Users below `with_ttl` get a TTL, as `#[cached]` stores
/// them (`SET ... EX`); the rest go in `MSET`s, which Redis takes several times faster,
/// without one (a hit does not read it).
pub fn fill(connection: &mut redis::Connection, ids: Range<u64>, with_ttl: u64) -> Duration {
    let started = Instant::now();
    let mut pipe = redis::pipe();
    let mut queued = 0;
    let mut flush = |pipe: &mut redis::Pipeline, queued: &mut u64| {
        pipe.query::<()>(connection).expect("the fill pipeline");
        pipe.clear();
        *queued = 0;
    };
    for id in ids.start..ids.end.min(with_ttl) {
        pipe.cmd("SET")
            .arg(key(id))
            .arg(json(id))
            .arg("EX")
            .arg(FILL_TTL_SECONDS)
            .ignore();
        queued += 1;
        if queued == FILL_PIPELINE {
            flush(&mut pipe, &mut queued);
        }
    }
    let mut first = ids.start.max(with_ttl);
    while first < ids.end {
        let last = (first + MSET_KEYS).min(ids.end);
        let mut mset = redis::cmd("MSET");
        for id in first..last {
            mset.arg(key(id)).arg(json(id));
        }
        pipe.add_command(mset).ignore();
        queued += last - first;
        if queued >= FILL_PIPELINE {
            flush(&mut pipe, &mut queued);
        }
        first = last;
    }
    if queued > 0 {
        flush(&mut pipe, &mut queued);
    }
    started.elapsed()
}

fn json(id: u64) -> Vec<u8> {
    serde_json::to_vec(&user(id)).expect("a User serializes")
}

/// Fills a `MemoryCache` with users `ids`, as `#[cached]` stores them.
pub async fn fill_memory(cache: &MemoryCache, ids: Range<u64>) {
    use cache_aside::prelude::*;
    for id in ids {
        cache
            .set_json(
                &key(id),
                &user(id),
                Some(Duration::from_secs(FILL_TTL_SECONDS)),
            )
            .await
            .expect("a MemoryCache write");
    }
}
