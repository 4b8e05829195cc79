//! The cache-aside helpers that `#[cached]` and `#[invalidate]` expand into, usable by hand.
//!
//! They fail open: a cache error is logged with `tracing` (at `warn`, with its code and the
//! key or pattern, never the value) and the caller gets what the loader returns, as if there
//! were no cache.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::error::CacheError;
use crate::port::Cache;

/// Returns the value cached at `key`, or runs `load` and caches its `Ok` value for `ttl`.
///
/// - A hit is decoded from JSON and returned; `load` does not run.
/// - A miss, a cache error, or a stored value that does not decode as `T` (corrupt bytes, a
///   type changed by a deploy) runs `load`. Its `Ok` value is stored as plain `serde_json`
///   (replacing an undecodable one) and returned.
/// - `load`'s `Err` is returned untouched and nothing is stored.
///
/// ```
/// use std::time::Duration;
/// use cache_aside::{MemoryCache, get_or_load};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let cache = MemoryCache::new();
/// let load = || async { Ok::<_, std::io::Error>(vec![1, 2, 3]) };
/// let ttl = Some(Duration::from_secs(60));
/// let first = get_or_load(&cache, "numbers", ttl, load).await.unwrap();
/// let again: Vec<u32> = get_or_load(&cache, "numbers", ttl, || async {
///     Err(std::io::Error::other("not called: this is a hit"))
/// })
/// .await
/// .unwrap();
/// assert_eq!(first, again);
/// # }
/// ```
pub async fn get_or_load<C, T, E, F, Fut>(
    cache: &C,
    key: &str,
    ttl: Option<Duration>,
    load: F,
) -> Result<T, E>
where
    C: Cache,
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    if let Some(value) = lookup(cache, key).await {
        return Ok(value);
    }
    let value = load().await?;
    store(cache, key, &value, ttl).await;
    Ok(value)
}

/// The value cached at `key` decoded as `T`, or `None` on a miss. A cache error or an
/// undecodable value is logged and also gives `None`, so the caller loads instead.
pub async fn lookup<C: Cache, T: DeserializeOwned>(cache: &C, key: &str) -> Option<T> {
    match cache.get_json(key).await {
        Ok(value) => value,
        Err(error) => {
            log_failure(
                "read",
                &format_args!("key {key}"),
                "carrying on without the cache",
                &error,
            );
            None
        }
    }
}

/// Stores `value` at `key` as JSON for `ttl`; a failure is logged and otherwise ignored.
/// Returns whether the value was stored.
pub async fn store<C: Cache, T: Serialize + ?Sized>(
    cache: &C,
    key: &str,
    value: &T,
    ttl: Option<Duration>,
) -> bool {
    // Encoded before the first await, so that `T` need not be `Sync` for the future to be
    // `Send`.
    let written = match codec::encode(key, value) {
        Ok(raw) => cache.set(key, &raw, ttl).await,
        Err(error) => Err(error),
    };
    match written {
        Ok(()) => true,
        Err(error) => {
            log_failure(
                "write",
                &format_args!("key {key}"),
                "carrying on without the cache",
                &error,
            );
            false
        }
    }
}

/// Deletes the exact key `key`, failing open: a failure is logged (with the key) and returned
/// for the caller to count or ignore. `Ok(true)` if the key existed. A deletion that failed
/// because the store is out of reach may have been kept for replay
/// ([`CacheError::is_queued`]).
pub async fn invalidate_key<C: Cache>(cache: &C, key: &str) -> Result<bool, CacheError> {
    cache.delete(key).await.inspect_err(|error| {
        log_failure(
            "invalidation",
            &format_args!("key {key}"),
            "the entry may stay until its TTL",
            error,
        );
    })
}

/// Deletes every key matching the Redis glob `pattern`, failing open as
/// [`invalidate_key`] does. `Ok(n)`: how many keys were deleted.
///
/// Values interpolated into a pattern must be escaped with [`escape_glob`](crate::escape_glob)
/// so that a `*` in user input does not widen the deletion.
pub async fn invalidate_pattern<C: Cache>(cache: &C, pattern: &str) -> Result<u64, CacheError> {
    cache.delete_pattern(pattern).await.inspect_err(|error| {
        log_failure(
            "invalidation",
            &format_args!("pattern {pattern}"),
            "entries under the pattern may stay until their TTL",
            error,
        );
    })
}

/// Deletes every entry recorded under any of `tags` (see
/// [`Cache::invalidate_tags`]), failing open as [`invalidate_key`] does. `Ok(n)`: how many
/// entries were deleted.
pub async fn invalidate_tags<C: Cache>(cache: &C, tags: &[&str]) -> Result<u64, CacheError> {
    cache.invalidate_tags(tags).await.inspect_err(|error| {
        log_failure(
            "invalidation",
            &format_args!("tags {tags:?}"),
            "entries under the tags may stay until their TTL",
            error,
        );
    })
}

/// Logs a failure of the operation `what` on `target`, and what it means for the caller
/// (`otherwise`, unless the adapter kept the deletion for replay); but not a refusal by an
/// open circuit breaker, which was logged once when it opened.
fn log_failure(what: &str, target: &dyn std::fmt::Display, otherwise: &str, error: &CacheError) {
    if error.is_circuit_open() {
        return;
    }
    let consequence = if error.is_queued() {
        "it is kept and replayed before the cache serves reads again"
    } else {
        otherwise
    };
    tracing::warn!(
        target: "cache_aside",
        code = error.code().as_str(),
        target = %target,
        error = %error,
        "cache {what} failed; {consequence}"
    );
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::MemoryCache;
    use crate::port::KeyValue;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn loads_once_then_hits() {
        block_on(async {
            let cache = MemoryCache::new();
            let loads = AtomicUsize::new(0);
            for _ in 0..3 {
                let value: Result<u32, ()> = get_or_load(&cache, "k", None, || async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    Ok(7)
                })
                .await;
                assert_eq!(value, Ok(7));
            }
            assert_eq!(loads.load(Ordering::SeqCst), 1);
            assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("7"));
        });
    }

    #[test]
    fn errors_are_returned_and_not_stored() {
        block_on(async {
            let cache = MemoryCache::new();
            let value: Result<u32, &str> =
                get_or_load(&cache, "k", None, || async { Err("db down") }).await;
            assert_eq!(value, Err("db down"));
            assert_eq!(cache.get("k").await.unwrap(), None);
        });
    }

    #[test]
    fn undecodable_values_are_misses_and_get_overwritten() {
        block_on(async {
            let cache = MemoryCache::new();
            cache
                .set("k", "\"a string, not a number\"", None)
                .await
                .unwrap();
            let value: Result<u32, ()> = get_or_load(&cache, "k", None, || async { Ok(5) }).await;
            assert_eq!(value, Ok(5));
            assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("5"));
        });
    }

    #[test]
    fn stores_with_the_ttl() {
        block_on(async {
            let cache = MemoryCache::new();
            let ttl = Duration::from_secs(30);
            let _: Result<u32, ()> = get_or_load(&cache, "k", Some(ttl), || async { Ok(1) }).await;
            let left = cache.ttl("k").await.unwrap().unwrap();
            assert!(left <= ttl && left > Duration::from_secs(25), "{left:?}");
        });
    }

    #[test]
    fn a_write_failure_still_returns_the_value() {
        block_on(async {
            let cache = MemoryCache::new();
            // A zero TTL makes every write fail; the caller must not notice.
            let value: Result<u32, ()> =
                get_or_load(&cache, "k", Some(Duration::ZERO), || async { Ok(3) }).await;
            assert_eq!(value, Ok(3));
            assert_eq!(cache.get("k").await.unwrap(), None);
        });
    }
}
