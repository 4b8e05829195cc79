//! Attributes and doc comments beside `#[cached]` are kept on the function: the lints
//! denied here would fire if the doc comment or the `#[allow]` were lost.

#![deny(missing_docs, unused_mut, dead_code)]

use cache_aside::{cache_put, cached, invalidate};

/// Documented with a doc comment.
#[cached(key = "a:{id}")]
#[must_use]
pub async fn documented(id: u64) -> u64 {
    id
}

#[doc = "Documented with `#[doc]`."]
#[allow(unused_mut)]
#[cached(key = "b:{id}", ttl = "1h")]
pub async fn allowed(mut id: u64) -> Option<u64> {
    Some(id)
}

/// `#[inline]` and `#[allow]` after the attribute.
#[cache_put(key = "a:{id}")]
#[inline]
#[allow(clippy::unused_async, unused_mut)]
pub async fn put(mut id: u64) -> u64 {
    id
}

/// An inner attribute of the body stays on the body.
#[cached(key = "c:{id}")]
pub async fn inner_attribute(id: u64) -> u64 {
    #![allow(unused_mut)]
    let mut doubled = id * 2;
    doubled
}

/// Kept on `#[invalidate]` too.
#[invalidate(key = "a:{id}")]
#[must_use = "check whether the delete ran"]
#[allow(unused_mut)]
pub async fn forget(mut id: u64) -> bool {
    id > 0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let _ = documented(1).await;
    let _ = allowed(1).await;
    let _ = put(1).await;
    let _ = forget(1).await;
    let _ = inner_attribute(1).await;
}
