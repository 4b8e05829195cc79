//! How long the cluster benchmark runs, from the environment; the shape the suite's
//! `rounds` module reads.
//!
//! - by default: 11 rounds of 200 ms per contender (about a minute and a half in all);
//! - `CLUSTER_BENCH_QUICK=1`: 5 rounds of 100 ms (under 30 s).

use std::time::Duration;

/// The variable that asks for the quick run.
const QUICK: &str = "CLUSTER_BENCH_QUICK";

pub struct Settings {
    /// Rounds; in each, every contender runs once, in turn.
    pub rounds: usize,
    /// How long one contender runs in one round.
    pub window: Duration,
    /// An unrecorded first run of each contender: connections, slot maps, first tiers.
    pub warm_up: Duration,
    pub quick: bool,
}

impl Settings {
    pub fn from_env() -> Settings {
        let quick = std::env::var(QUICK).is_ok_and(|value| value != "0" && !value.is_empty());
        Settings {
            rounds: if quick { 5 } else { 11 },
            window: Duration::from_millis(if quick { 100 } else { 200 }),
            warm_up: Duration::from_millis(if quick { 30 } else { 50 }),
            quick,
        }
    }

    /// The longest a contender runs in all: every round and its warm-up.
    pub fn time_per_contender(&self) -> Duration {
        self.window * self.rounds as u32 + self.warm_up
    }
}
