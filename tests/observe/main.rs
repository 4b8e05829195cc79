//! What a service sees of the library: each `#[cached]` call as a `tracing` span (`spans`),
//! and `stats()` and `health()` as data that serializes and prints (`data`). The metrics of
//! the `metrics` feature have a binary of their own (`tests/metrics`), since a recorder is
//! process-wide.

#[path = "../support/mod.rs"]
mod support;

mod alloc;
mod capture;
mod data;
mod spans;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;
