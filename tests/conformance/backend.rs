//! The two adapters under one face, for the conformance cases.

use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{MemoryCache, RedisCache};

use crate::support::RedisServer;
pub use crate::support::wait::eventually;

/// Views of one store under other prefixes, as the adapters make them.
pub trait Prefixed: Cache + Clone + 'static {
    fn prefixed(&self, prefix: &str) -> Self;
}

impl Prefixed for MemoryCache {
    fn prefixed(&self, prefix: &str) -> Self {
        self.with_prefix(prefix)
    }
}

impl Prefixed for RedisCache {
    fn prefixed(&self, prefix: &str) -> Self {
        self.with_prefix(prefix)
    }
}

/// A cache under test, without prefix, and the server behind it (if any), kept alive.
pub struct Backend<C> {
    pub cache: C,
    _server: Option<RedisServer>,
}

impl Backend<MemoryCache> {
    pub fn memory() -> Self {
        Self {
            cache: MemoryCache::new(),
            _server: None,
        }
    }
}

impl Backend<RedisCache> {
    pub fn redis() -> Self {
        let server = RedisServer::start();
        // Generous: the conformance suite checks semantics, not speed, on a loaded machine.
        let cache = RedisCache::builder(server.url())
            .op_timeout(Duration::from_secs(5))
            .build()
            .expect("the harness URL is valid");
        Self {
            cache,
            _server: Some(server),
        }
    }
}

impl<C: Prefixed> Backend<C> {
    pub fn prefixed(&self, prefix: &str) -> C {
        self.cache.prefixed(prefix)
    }
}
