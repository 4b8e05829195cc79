//! What one `#[cached]` call's miss needs to know besides its key: the TTL, the lease and the
//! tags, and the checks of the `ttl = ...` and `lease = ...` expressions.

use std::time::Duration;

use crate::lease::DEFAULT_LEASE;

/// How a `#[cached]` call fills a key it missed.
#[doc(hidden)]
pub struct MissOptions {
    pub(super) ttl: Option<Duration>,
    /// How long the lease lives, and how long a caller waits for another's load.
    pub(super) lease: Duration,
    pub(super) tags: Vec<String>,
}

impl MissOptions {
    /// The tags as the port takes them.
    pub(super) fn tag_refs(&self) -> Vec<&str> {
        self.tags.iter().map(String::as_str).collect()
    }
}

/// `#[cached]`'s `ttl`, `lease` (default [`DEFAULT_LEASE`]) and rendered `tags` for one call.
#[doc(hidden)]
pub fn miss_options(
    ttl: Option<Duration>,
    lease: Option<Duration>,
    tags: Vec<String>,
) -> MissOptions {
    MissOptions {
        ttl,
        // A zero lease would be refused by the store; the shortest one is as good.
        lease: lease.unwrap_or(DEFAULT_LEASE).max(Duration::from_millis(1)),
        tags,
    }
}

/// `ttl = <expression>`: the expression must be a `Duration`.
#[doc(hidden)]
pub fn ttl(ttl: Duration) -> Option<Duration> {
    Some(ttl)
}

/// `lease = <expression>`: the expression must be a `Duration`.
#[doc(hidden)]
pub fn lease(lease: Duration) -> Option<Duration> {
    Some(lease)
}
