//! What both adapters' handles are: a view of a store, confined to a prefix, with size
//! limits, and an id for in-process single flight that its clones share.

use std::borrow::Cow;
use std::sync::Arc;

use crate::error::CacheError;
use crate::glob;
use crate::limits::Limits;
use crate::port::StoreId;

/// A prefix, its glob-escaped form, the limits and the view's [`StoreId`].
#[derive(Clone, Debug)]
pub(crate) struct View {
    prefix: Arc<str>,
    escaped_prefix: Arc<str>,
    store_id: StoreId,
    pub(crate) limits: Limits,
}

impl View {
    /// A view under `prefix`, with an id of its own: views with different prefixes hold
    /// different entries, so their loads are not shared.
    pub(crate) fn new(prefix: &str, limits: Limits) -> Self {
        View {
            prefix: prefix.into(),
            escaped_prefix: glob::escape(prefix).into(),
            store_id: StoreId::fresh(),
            limits,
        }
    }

    /// The view under this one's prefix followed by `prefix`: views only narrow.
    pub(crate) fn narrowed(&self, prefix: &str) -> Self {
        View::new(&format!("{}{prefix}", self.prefix), self.limits)
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn store_id(&self) -> StoreId {
        self.store_id
    }

    /// Checks that `key`, with the prefix, is within the size limit.
    pub(crate) fn check_key(&self, key: &str) -> Result<(), CacheError> {
        self.limits.check_key(self.prefix.len(), key)
    }

    /// Checks a key and the value to store at it.
    pub(crate) fn check_entry(&self, key: &str, value: &str) -> Result<(), CacheError> {
        self.check_key(key)?;
        self.limits.check_value(key, value)
    }

    /// `key` under the prefix (borrowed when there is none).
    pub(crate) fn full_key<'a>(&self, key: &'a str) -> Cow<'a, str> {
        if self.prefix.is_empty() {
            Cow::Borrowed(key)
        } else {
            Cow::Owned(format!("{}{key}", self.prefix))
        }
    }

    /// A caller's glob pattern under the prefix: only keys under it can match.
    pub(crate) fn full_pattern(&self, pattern: &str) -> String {
        format!("{}{pattern}", self.escaped_prefix)
    }
}
