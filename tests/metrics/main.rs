//! The `metrics` feature: every counter of `stats()`, the load times and the breakers' states
//! through the `metrics` facade, seen by a recorder of the test's own (`recorder.rs`),
//! installed for the whole process before any annotated function runs.

#[path = "../support/mod.rs"]
mod support;

mod breaker;
mod counters;
mod recorder;
