//! Consistency under concurrency, on a real `redis-server` and on `MemoryCache`:
//!
//! - `history`: the stale-set race, checked the way Jepsen checks histories: many tasks
//!   read through `#[cached]` and update through `#[invalidate]` over a small shared
//!   "database", then a quiescent check compares every cached value with the database. The
//!   same history through the plain, unprotected helpers must find stale values, so the
//!   check can fail.
//! - `stampede`: four OS processes (this test binary, run again) with 100 callers each on
//!   one cold key run its body once.
//! - `dead_holder`: a lease whose holder was killed blocks its key until the lease
//!   expires, and no longer.
//! - `wire`: what leases and tags cost and look like on Redis.
//!
//! Every test prints what it measured; run with `--nocapture` to see it.

#[path = "../support/mod.rs"]
mod support;

mod cancel_storm;
mod cancelled_leases;
mod children;
mod dead_holder;
mod deploy_skew;
mod held;
mod history;
mod in_place;
mod late_reads;
mod stampede;
mod wire;

support::matrix::matrix! {
    history::invalidation_by_key_leaves_nothing_stale,
    history::invalidation_by_pattern_leaves_nothing_stale,
    history::invalidation_by_tag_leaves_nothing_stale,
    cancelled_leases::a_leader_and_its_waiter_cancelled_together_leave_no_lease,
}
