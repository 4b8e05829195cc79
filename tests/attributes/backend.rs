//! The store under test, `MemoryCache` or a real `redis-server`, behind one face, plus the
//! ways to look at (and tamper with) what landed in it behind the library's back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{LeaseToken, MemoryCache, RedisCache, SharedCache};

use crate::support::RedisServer;
pub use crate::support::wait::eventually;

/// Makes every backend's namespace unique in this process: single flight is in-process and
/// keyed by the key, so two tests must never share a key, even on different stores.
static NAMESPACES: AtomicU64 = AtomicU64::new(0);

/// A cache under test and, for Redis, the server behind it.
pub struct Backend {
    /// What the annotated functions are given (`cache = cache`).
    pub cache: SharedCache,
    /// A second handle onto the same store with an identity of its own, so it shares no
    /// in-process single flight with `cache`: what another process's handle would be.
    pub twin: SharedCache,
    /// A prefix unique to this backend, for the keys of its test: `m3`, `r7`.
    pub ns: String,
    server: Option<RedisServer>,
}

impl Backend {
    pub fn memory() -> Self {
        let cache = MemoryCache::new();
        Self {
            // A view with an empty prefix: the same entries, another identity.
            twin: SharedCache::new(cache.with_prefix("")),
            cache: SharedCache::new(cache),
            ns: namespace("m"),
            server: None,
        }
    }

    pub fn redis() -> Self {
        let server = RedisServer::start();
        // Generous: these tests check behaviour, not speed, on a loaded 2-core machine; a
        // timeout here would make a call fail open and hide what is under test.
        let connect = || {
            RedisCache::builder(server.url())
                .op_timeout(Duration::from_secs(5))
                .build()
                .expect("the harness URL is valid")
        };
        Self {
            cache: SharedCache::new(connect()),
            twin: SharedCache::new(connect()),
            ns: namespace("r"),
            server: Some(server),
        }
    }

    /// `ns:rest`: a key of this test.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.ns)
    }

    /// The text stored at `key`, read behind the library's back (a raw `GET` on Redis). A
    /// lease marker is no value: a load whose result is not stored gives its lease back on a
    /// task of its own, so the marker may still be there for a moment.
    pub async fn stored(&self, key: &str) -> Option<String> {
        match &self.server {
            Some(server) => redis::cmd("GET")
                .arg(key)
                .query::<Option<Vec<u8>>>(&mut server.raw())
                .expect("raw GET")
                .filter(|bytes| !LeaseToken::is_marker(bytes))
                .map(|bytes| String::from_utf8(bytes).expect("a UTF-8 value")),
            None => self.cache.get(key).await.expect("MemoryCache::get"),
        }
    }

    /// Redis's `PTTL`: -2 for no key, -1 for no expiry, else milliseconds left. On memory,
    /// the same from `exists` and `ttl`.
    pub async fn pttl(&self, key: &str) -> i64 {
        match &self.server {
            Some(server) => redis::cmd("PTTL")
                .arg(key)
                .query(&mut server.raw())
                .expect("raw PTTL"),
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
        match &self.server {
            Some(server) => redis::cmd("SET")
                .arg(key)
                .arg(value)
                .query::<()>(&mut server.raw())
                .expect("raw SET"),
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

/// A bound on an await that should finish: fails the test instead of hanging it.
pub async fn bounded<F: std::future::Future>(limit: Duration, what: &str, future: F) -> F::Output {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}
