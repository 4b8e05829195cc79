//! The first tier (`RedisCacheBuilder::local_tier`): values kept in process memory that Redis
//! keeps coherent, on real `redis-server`s, each test with a server of its own.
//!
//! - `coherence`: two instances on one server; a change through the other one (by key, by
//!   pattern, by tag) or by a plain redis-rs client (`SET`, `DEL`, `EXPIRE`, `FLUSHDB`) is seen
//!   by the first within [`rig::STALENESS`] of its acknowledgement. Prints how long it took.
//! - `processes`: the same across two OS processes (this test binary, run again).
//! - `lost_connection`: the library's connections killed (`CLIENT KILL`), Redis restarted, or
//!   frozen long enough to open the breaker, each followed by a write behind the library's
//!   back: nothing stale is served, and nothing at all while Redis is unreachable.
//! - `silent_hits`: a first-tier hit sends nothing to Redis (`INFO commandstats`).
//! - `insert_race`: a `GET` reply and the invalidation that follows it arrive in one read;
//!   the value read before the invalidation must not be kept after it. Then the same race as
//!   a stress of many readers against a writer.
//! - `leases`: a lease marker is never kept as a value.
//! - `expiry`: an entry never outlives its key's TTL in Redis, nor `max_ttl`.
//! - `coalescing`: `get`s in flight together (one `MGET`) each get their own answer.
//!
//! The conformance and attribute suites run with the first tier on too (the `RedisTiered`
//! backend of `tests/support/backend.rs`). Every test prints what it measured; run with
//! `--nocapture` to see it.

#[path = "../support/mod.rs"]
mod support;

// Only to count what the reader sends (`insert_race`); the modes serve `tests/faults/`.
#[allow(dead_code)]
#[path = "../support/proxy.rs"]
mod proxy;

// Only `spawn` and `finish` are used here; the rest serves `tests/consistency/`.
#[allow(dead_code)]
#[path = "../consistency/children.rs"]
mod children;

mod coalescing;
mod coherence;
mod expiry;
mod insert_race;
mod leases;
mod lost_connection;
mod processes;
mod rig;
mod silent_hits;
