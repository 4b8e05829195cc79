//! Faults of a real Redis Cluster under load: what callers of annotated functions see when a
//! primary is killed or a slot moves while 32 tasks read and invalidate, and whether the
//! first tier stays coherent across a failover. Every test starts a cluster of its own
//! (`RedisCluster::start`: three primaries, three replicas, nodes failing over after 1 s),
//! since it kills nodes or moves slots.
//!
//! - `failover`: SIGKILL of the primary serving the hot keys, mid-load, without and with the
//!   first tier: no caller error, no stale value, no call over 2 s; hits resume once the
//!   replica is promoted, while the callers go on invalidating too, and every invalidation
//!   reaches its key.
//! - `reshard`: the hot keys' slot moved under load, step by step (keys answered with `ASK`
//!   half-way), then in one go, then step by step again with an invalidation under `ASK`
//!   and a change behind the library's back: the same checks.
//! - `durable`: an invalidation acknowledged while the replica lagged (frozen, its link
//!   stuffed) survives the failover: the library's `WAIT 1` did not confirm it, so it was
//!   kept and replayed on the promoted replica; and so is one made while the replica's link
//!   was down (the cluster's configuration still names the replica).
//! - `tier`: a value held by the first tier, its primary killed, the key changed on the
//!   promoted replica: the cache returns the new value, never the old one; and the tier is
//!   kept coherent on the connection to the new primary too.
//! - `outage`: every node down at once: a deletion is kept for replay, not given up.
//! - `adapter`: the adapter beyond the shared suites: deletions that wait for a replica,
//!   runtimes that come and go, rate limits on every primary (on the binary's shared
//!   cluster).
//! - `harness`: the test harness itself (`tests/support/cluster.rs`).
//!
//! The load is in `workload` (the application: a versioned source read and invalidated
//! through the attributes) and `load` (its 32 callers and what they saw); `settled` checks
//! what the cache and the cluster hold once the load has stopped; `hits` watches a
//! function's hits; `rig` has the caches and bounds. Every test prints what it measured; run
//! with `--nocapture` to see it, and with `RUST_LOG=cache_aside=debug` for the library's
//! logs.

#[path = "../support/mod.rs"]
mod support;

mod adapter;
mod durable;
mod failover;
mod harness;
mod hits;
mod load;
mod outage;
mod reshard;
mod rig;
mod settled;
mod tier;
mod workload;
