//! `RateLimiter`, on a real `redis-server` and on `MemoryCache`:
//!
//! - `semantics`: a burst gets the limit and no more, the window slides, keys and prefixes
//!   are apart, handles share one window, a changed limit, `delete`, invalid limits; the
//!   same answers from both stores.
//! - `hammer`: many tasks on two handles hammering one key for a few windows: no window holds
//!   more than the limit, and the allowance is used. The check of the first is shown to fail
//!   on a fixed-window limiter.
//! - `processes`: the same across two OS processes (this test binary, run again).
//! - `failing`: an unreachable or frozen server allows (or refuses, `fail_closed`) within
//!   about one `op_timeout`, logged once per episode and counted; so does a cache without
//!   the capability.
//! - `cost`: one round trip per check, the memory per key against a sorted-set log, and the
//!   time per check (printed: run with `--nocapture` to see the figures).

#[path = "support/mod.rs"]
mod support;

#[allow(dead_code)] // shared with the consistency tests; this binary uses a part
#[path = "consistency/children.rs"]
mod children;

#[path = "rate_limit/cost.rs"]
mod cost;
#[path = "rate_limit/failing.rs"]
mod failing;
#[path = "rate_limit/hammer.rs"]
mod hammer;
#[path = "rate_limit/processes.rs"]
mod processes;
#[path = "rate_limit/semantics.rs"]
mod semantics;

support::matrix::matrix! {
    semantics::a_burst_gets_the_limit_and_no_more,
    semantics::the_window_slides,
    semantics::a_large_limit_counts_like_a_small_one,
    semantics::keys_and_prefixes_are_apart,
    semantics::handles_share_one_window,
    semantics::a_changed_limit_takes_effect_at_once,
    semantics::delete_forgets_a_window,
    hammer::many_tasks_on_two_handles_never_exceed_the_limit,
}
