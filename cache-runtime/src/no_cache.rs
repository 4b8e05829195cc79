//! [`NoCache`]: a cache that stores nothing, for tests that want every body to run.

use std::collections::HashMap;
use std::time::Duration;

use crate::counter;
use crate::error::{CacheError, ErrorCode};
use crate::expiry;
use crate::port::{Cache, KeyValue};

/// A cache that stores nothing: every read misses, and every write is accepted and dropped.
///
/// For tests that want the body of every `#[cached]` function to run on each call, without
/// touching a store. Give it where a cache is named (`cache = ...`), or make it the cache of
/// a whole test with [`scope`](crate::scope):
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// static READS: AtomicU32 = AtomicU32::new(0);
///
/// #[cache_aside::cached(key = "user:{id}", ttl = "1h")]
/// async fn user(id: u64) -> String {
///     READS.fetch_add(1, Ordering::Relaxed);
///     format!("user {id}") // the database read
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// cache_aside::scope(cache_aside::NoCache, async {
///     user(1).await;
///     user(1).await;
/// })
/// .await;
/// assert_eq!(READS.load(Ordering::Relaxed), 2, "no hit: the body ran each time");
/// # }
/// ```
///
/// What it answers follows from "the key is missing": `get`, `get_many` and `ttl` find
/// nothing, `exists`, `delete` and `expire` are `false`, `delete_pattern` deletes 0 keys,
/// `increment` answers `amount` (a missing key counts as 0, and the result is dropped) and
/// `decrement` `-amount`. It refuses what every cache refuses (a zero or over-100-year TTL
/// on a write, an over-100-year one on `expire`, a `decrement` by `i64::MIN`), so code
/// tested against it meets the errors it would meet in production; it has no size limits.
///
/// It has no leases and no tags (`invalidate_tags` is an error that says so, logged by
/// `#[invalidate(tags = ...)]`). Concurrent `#[cached]` calls of one function with one key
/// still share one load, since single flight is the attribute's, not the store's: only
/// calls that overlap share; every other call runs the body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoCache;

impl NoCache {
    /// The TTL of a write, checked as every cache checks it.
    fn check_write_ttl(
        ttl: Option<Duration>,
        code: ErrorCode,
        key: &str,
    ) -> Result<(), CacheError> {
        match ttl {
            Some(ttl) => expiry::write_millis(ttl, code, key).map(drop),
            None => Ok(()),
        }
    }
}

impl Cache for NoCache {
    async fn get(&self, _key: &str) -> Result<Option<String>, CacheError> {
        Ok(None)
    }

    async fn set(&self, key: &str, _value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        Self::check_write_ttl(ttl, ErrorCode::Set, key)
    }

    async fn delete(&self, _key: &str) -> Result<bool, CacheError> {
        Ok(false)
    }

    async fn delete_pattern(&self, _pattern: &str) -> Result<u64, CacheError> {
        Ok(0)
    }
}

impl KeyValue for NoCache {
    async fn exists(&self, _key: &str) -> Result<bool, CacheError> {
        Ok(false)
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        expiry::expire_millis(ttl, ErrorCode::Expire, key)?;
        Ok(false)
    }

    async fn increment(&self, _key: &str, amount: i64) -> Result<i64, CacheError> {
        Ok(amount)
    }

    async fn decrement(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        counter::negate(amount, key)
    }

    async fn ttl(&self, _key: &str) -> Result<Option<Duration>, CacheError> {
        Ok(None)
    }

    async fn flush(&self) -> Result<(), CacheError> {
        Ok(())
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    async fn get_many(&self, keys: &[&str]) -> Result<HashMap<String, Option<String>>, CacheError> {
        Ok(keys.iter().map(|key| ((*key).to_owned(), None)).collect())
    }

    async fn set_many(
        &self,
        entries: &[(&str, &str)],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        match entries.first() {
            Some((key, _)) => Self::check_write_ttl(ttl, ErrorCode::MultiSet, key),
            // Nothing to write a TTL on, as for every cache.
            None => Ok(()),
        }
    }
}
