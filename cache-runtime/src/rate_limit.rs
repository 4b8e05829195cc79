//! Rate limiting over the cache's store: [`RateLimiter`] (`limiter.rs`), the capability it
//! needs from a store, [`RateLimits`], and its answer, [`RateDecision`] (`capability.rs`).
//! The adapters implement the capability in `memory/rate_limit.rs` and
//! `redis_cache/rate_limit.rs`.

mod capability;
mod limiter;

pub use capability::{MAX_RATE_LIMIT, RateDecision, RateLimits};
pub(crate) use capability::{retry_after, window_millis};
pub use limiter::{RateLimiter, RateLimiterStats};
