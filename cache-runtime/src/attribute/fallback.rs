//! The cache of an attribute that names no `cache = ...`: the innermost
//! [`scope`](crate::scope)'s, else the process-wide one.

use std::borrow::Cow;

use super::site::Site;
use crate::global;
use crate::scope;
use crate::shared::SharedCache;

/// The cache of a call of `site` without `cache = ...`, found once per call. Outside any
/// scope it is the process-wide cache, borrowed: no reference count is touched.
#[doc(hidden)]
pub fn default_cache(site: &'static Site) -> Cow<'static, SharedCache> {
    match scope::scoped() {
        Some(cache) => Cow::Owned(cache),
        None => Cow::Borrowed(global::global_for(site.function())),
    }
}
