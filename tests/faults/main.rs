//! Fault injection against real `redis-server` processes: killed, frozen, down from the
//! start, behind a proxy that black-holes, delays or resets traffic, and refusing what it is
//! sent. Whatever happens, callers get what the function body returns,
//! within a bound, and caching comes back by itself once the server does.
//!
//! - `kill`: SIGKILL in the middle of a concurrent load, then a restart on the same port.
//! - `freeze`: SIGSTOP/SIGCONT; what every attribute returns, the cost of a call before and
//!   after the breaker opens, and of an invalidation of several targets.
//! - `down`: the server down at start-up, up later.
//! - `through_proxy`: the proxy (`tests/support/proxy.rs`) in each of its modes.
//! - `outage`: invalidations during an outage are replayed before anything is served, a
//!   queue that overflows folds into the narrowest patterns (never the whole database), and
//!   a write held up in the network does not bring an invalidated value back.
//! - `idle`: a connection that died while idle (`CLIENT KILL`, Redis's `timeout`, the
//!   runtime that opened it ending) costs nothing: the next command goes out on a new one.
//! - `refusals`: `OOM` and `BUSY` keep invalidations for replay, logged once; `NOPERM`
//!   gives them up, counted.
//! - `blocked`: a waiting deletion keeps its key from the cache, and nothing else.
//! - `probe`: recovery after a short outage takes one cool-down.
//! - `breaker`: the circuit breaker as the port shows it, and its log lines.
//! - `keys`, `sizes`: awkward keys and the size limits, on Redis and on `MemoryCache` (the
//!   backend matrix of `tests/support/matrix.rs`, as `memory::case` and `redis::case`).
//!   Stored values of the wrong kind are in `tests/attributes/corrupt.rs`.
//!
//! Every wait is bounded and every latency bound is generous: these tests prove "did not
//! hang" and "did not go to the network", on a loaded 2-core machine; the tight figures
//! belong in a benchmark. Statistics are process-wide per function, so every test has
//! functions of its own (or counts its bodies itself), and every test has servers of its own.

#[path = "../support/mod.rs"]
mod support;

#[path = "../support/proxy.rs"]
mod proxy;

mod blocked;
mod breaker;
mod common;
mod down;
mod freeze;
mod freeze_budget;
mod idle;
mod keys;
mod kill;
mod outage;
mod probe;
mod refusals;
mod sizes;
mod slow_put;
mod tagged_wrong_type;
mod through_proxy;

support::matrix::matrix! {
    keys::awkward_keys_are_cached_and_invalidated_exactly,
    sizes::values_over_the_limit_are_returned_not_stored
        with Settings::DEFAULT.max_value_size(crate::sizes::MAX_VALUE).failure_threshold(1),
    sizes::an_oversized_put_leaves_no_stale_value
        with Settings::DEFAULT.max_value_size(crate::sizes::MAX_VALUE),
    sizes::keys_over_the_limit_are_refused_clearly
        with Settings::DEFAULT
            .prefix("pre:")
            .max_key_size(crate::sizes::MAX_KEY)
            .failure_threshold(1),
}
