//! Procedural macros of `cache-aside`.
//!
//! The attributes (`#[cached]`, `#[invalidate]`, `#[cache_put]`) are not written yet; this
//! crate exists so the workspace already has its final shape. Depend on `cache-aside`, not on
//! this crate.
