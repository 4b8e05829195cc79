//! The Redis adapter: one lazily opened, shared, auto-reconnecting multiplexed connection,
//! and a deadline on every operation.

mod background;
mod breaker;
mod builder;
mod connection;
mod key;
mod lease;
mod link;
mod op;
mod pending;
mod recovery;
mod tags;
mod view;

pub use builder::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_COOL_DOWN, DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_MAX_PENDING_INVALIDATIONS, DEFAULT_OP_TIMEOUT, DEFAULT_SCAN_COUNT, RedisCacheBuilder,
};
pub use view::RedisCache;

use connection::Connection;
use op::Op;
