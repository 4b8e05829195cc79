//! What `#[cached]`, `#[cache_put]` and `#[invalidate]` expand into, and their statistics.
//!
//! The generated code reaches these through `cache_aside::__private`; only the statistics
//! ([`stats`], [`stats_for`], [`FunctionStats`]) are public API.
//!
//! - `cached.rs`: the hit path; `miss.rs`: the protocol of a miss, as one state machine;
//!   `permit.rs`: the right to store (a lease, a plain write, or none), given back on drop;
//!   `flights.rs`: the loads in flight in this process (single flight, in-process staleness);
//! - `writes.rs`: `#[cache_put]` and `#[invalidate]`;
//! - `fail_open.rs`: one call's failures, logged once; `site.rs`: the names and counters;
//!   `outcome.rs`: a call's span, and how it was answered;
//!   `shape.rs`: return kinds; `options.rs`: TTL, lease and tags; `render.rs`: key parts;
//!   `fallback.rs`: the cache of an attribute without `cache = ...`.

mod cached;
mod fail_open;
mod fallback;
mod flights;
mod miss;
mod options;
mod outcome;
mod permit;
mod render;
mod shape;
mod site;
mod writes;

pub use cached::cached;
pub use fallback::default_cache;
pub use options::{
    FromArgument, MissOptions, StoreTtl, TtlArgument, lease, miss_options, ttl, ttl_from,
};
pub use render::{GlobEscaped, KeyPart, glob_escaped, key_part};
pub use shape::{
    Cacheable, KeepErr, OkOnly, OkSome, OkSomeAndNone, Plain, ResultProbe, ReturnKind, Shape,
    ShareClonedErr, SomeAndNone, SomeOnly, return_kind,
};
pub use site::{FunctionStats, Site, stats, stats_for};
pub use writes::{Target, invalidate, invalidate_skipped, put, put_split};
