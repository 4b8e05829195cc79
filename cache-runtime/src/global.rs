//! The composition root: the process-wide default cache that `#[cached]` uses when no
//! `cache = …` is given.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{CacheError, ErrorCode};
use crate::memory::MemoryCache;
use crate::port::KeyValue;
use crate::shared::SharedCache;

static GLOBAL: OnceLock<SharedCache> = OnceLock::new();

/// Set when [`global`] had to fall back to memory, so that a late [`set_global_default`] can
/// say why it came too late.
static DEFAULTED: AtomicBool = AtomicBool::new(false);

/// Installs the process-wide cache returned by [`global`]. Call it once, at start-up, before
/// any cached call.
///
/// # Errors
/// An [`ErrorCode::AlreadyInitialized`] error when a cache was already installed, or when
/// [`global`] was already called and fell back to a [`MemoryCache`] (callers may hold that
/// one already, so it cannot be swapped under them).
pub fn set_global_default<C: KeyValue + 'static>(cache: C) -> Result<(), CacheError> {
    let mut installed = false;
    GLOBAL.get_or_init(|| {
        installed = true;
        SharedCache::new(cache)
    });
    if installed {
        return Ok(());
    }
    let message = if DEFAULTED.load(Ordering::Acquire) {
        "global() was called before set_global_default and already fell back to a \
         MemoryCache; install the cache at start-up, before the first cached call"
    } else {
        "a global default cache is already installed; set_global_default can be called once"
    };
    Err(CacheError::new(ErrorCode::AlreadyInitialized, message))
}

/// The process-wide cache: the one installed with [`set_global_default`], else a
/// [`MemoryCache`] made on first use (with one `tracing` warning saying so).
pub fn global() -> &'static SharedCache {
    GLOBAL.get_or_init(|| fall_back(None))
}

/// [`global`] for an attribute of `function` that names no `cache = ...`: if it is the first
/// to fall back to memory, the warning names it, since a method that forgot
/// `cache = self.cache` falls back silently otherwise.
pub(crate) fn global_for(function: &str) -> &'static SharedCache {
    GLOBAL.get_or_init(|| fall_back(Some(function)))
}

fn fall_back(function: Option<&str>) -> SharedCache {
    DEFAULTED.store(true, Ordering::Release);
    match function {
        Some(function) => tracing::warn!(
            target: "cache_aside",
            function,
            "no global cache installed with cache_aside::set_global_default; using a \
             process-local MemoryCache, first for {function}, which names no `cache = ...` \
             (a method whose `self` holds its cache needs `cache = self.cache`)"
        ),
        None => tracing::warn!(
            target: "cache_aside",
            "no global cache installed with cache_aside::set_global_default; \
             using a process-local MemoryCache"
        ),
    }
    SharedCache::new(MemoryCache::new())
}

/// A cache chosen by the environment: a `RedisCache` on the Redis Cluster whose seed nodes
/// `REDIS_CLUSTER_NODES` lists (comma-separated URLs, such as
/// `redis://10.0.0.1:6379,redis://10.0.0.2:6379`) when it is set and not empty; else one on
/// the server at `REDIS_URL` when that is set and not empty; else a [`MemoryCache`]. It is
/// not installed; pass it to [`set_global_default`] for that.
///
/// # Errors
/// An [`ErrorCode::Config`] error when the variable used is not valid Unicode or holds an
/// invalid URL, or when it is set while the feature it needs (`redis`, or `cluster` for
/// `REDIS_CLUSTER_NODES`) is off.
pub fn from_env() -> Result<SharedCache, CacheError> {
    if let Some(nodes) = variable("REDIS_CLUSTER_NODES")? {
        let nodes: Vec<&str> = nodes
            .split(',')
            .map(str::trim)
            .filter(|node| !node.is_empty())
            .collect();
        return redis_cluster(&nodes);
    }
    match variable("REDIS_URL")? {
        Some(url) => redis_from_url(&url),
        None => Ok(SharedCache::new(MemoryCache::new())),
    }
}

/// The variable's value, trimmed, when it is set and not blank.
fn variable(name: &str) -> Result<Option<String>, CacheError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(Some(value.trim().to_owned())),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CacheError::new(
            ErrorCode::Config,
            format!("{name} is not valid Unicode"),
        )),
    }
}

#[cfg(feature = "redis")]
fn redis_from_url(url: &str) -> Result<SharedCache, CacheError> {
    crate::RedisCache::new(url).map(SharedCache::new)
}

#[cfg(feature = "cluster")]
fn redis_cluster(nodes: &[&str]) -> Result<SharedCache, CacheError> {
    crate::RedisCache::cluster(nodes).map(SharedCache::new)
}

#[cfg(not(feature = "cluster"))]
fn redis_cluster(_: &[&str]) -> Result<SharedCache, CacheError> {
    Err(CacheError::new(
        ErrorCode::Config,
        "REDIS_CLUSTER_NODES is set but cache-aside was built without its `cluster` feature",
    ))
}

#[cfg(not(feature = "redis"))]
fn redis_from_url(_: &str) -> Result<SharedCache, CacheError> {
    Err(CacheError::new(
        ErrorCode::Config,
        "REDIS_URL is set but cache-aside was built without its `redis` feature",
    ))
}
