//! Compile-time tests of `#[cached]`, `#[cache_put]` and `#[invalidate]`: every error the
//! macros report, with its message and span (`tests/ui/*.rs` and their `.stderr`), and the
//! function shapes they must accept (`tests/ui/pass/*.rs`).
//!
//! After an intended change to a message, regenerate the expected output with
//! `TRYBUILD=overwrite cargo test --test ui` and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
