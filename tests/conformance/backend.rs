//! The two adapters of this crate, as the exported suite takes them.

use std::time::Duration;

use cache_aside::conformance::LIMITS;
use cache_aside::{MemoryCache, RedisCache};

use crate::support::RedisServer;

/// A cache under test, without prefix, and the server behind it (if any), kept alive.
pub struct Backend<C> {
    pub cache: C,
    pub server: Option<RedisServer>,
}

impl Backend<MemoryCache> {
    pub fn plain() -> Self {
        Self {
            cache: MemoryCache::new(),
            server: None,
        }
    }

    /// Built with the suite's size limits.
    pub fn limited() -> Self {
        Self {
            cache: MemoryCache::builder()
                .max_key_size(LIMITS.max_key_size)
                .max_value_size(LIMITS.max_value_size)
                .build(),
            server: None,
        }
    }
}

impl Backend<RedisCache> {
    pub fn plain() -> Self {
        Self::redis(|builder| builder)
    }

    /// Built with the suite's size limits.
    pub fn limited() -> Self {
        Self::redis(|builder| {
            builder
                .max_key_size(LIMITS.max_key_size)
                .max_value_size(LIMITS.max_value_size)
        })
    }

    fn redis(
        configure: impl FnOnce(cache_aside::RedisCacheBuilder) -> cache_aside::RedisCacheBuilder,
    ) -> Self {
        let server = RedisServer::start();
        // Generous: the conformance suite checks semantics, not speed, on a loaded machine.
        let builder = RedisCache::builder(server.url()).op_timeout(Duration::from_secs(5));
        let cache = configure(builder)
            .build()
            .expect("the harness URL is valid");
        Self {
            cache,
            server: Some(server),
        }
    }
}
