//! What `#[cached]`, `#[cache_put]` and `#[invalidate]` expand into, and their statistics.
//!
//! The generated code reaches these through `cache_aside::__private`; only the statistics
//! ([`stats`], [`stats_for`], [`FunctionStats`]) are public API.

mod flight;
mod lease;
mod render;
mod run;
mod shape;
mod site;

pub use lease::{MissOptions, lease, miss_options};
pub use render::{GlobEscaped, KeyPart, glob_escaped, key_part};
pub use run::{Target, cached, invalidate, invalidate_skipped, put, put_split, ttl};
pub use shape::{
    Cacheable, KeepErr, OkOnly, OkSome, OkSomeAndNone, Plain, ResultProbe, ReturnKind, Shape,
    ShareClonedErr, SomeAndNone, SomeOnly, return_kind,
};
pub use site::{FunctionStats, Site, stats, stats_for};
