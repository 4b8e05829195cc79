//! The application under test: a few rows of an in-process, versioned source of truth, read
//! through `#[cached]` and updated through `#[invalidate]` (by key and by tag), all on one
//! hash slot (`{hot}`), so that one primary serves every key and tag set of the workload.
//!
//! Function statistics are process-wide per function, and the tests run in parallel, so each
//! test gets a type of its own from [`workload!`], with annotated methods of its own.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_aside::RedisCache;

/// Rows of the source; every key and tag of the workload shares the slot of `{hot}`.
pub const ROWS: usize = 12;
/// The rows the callers of `load` use; the others are left to the tests' own calls, so that
/// an invalidation of one is the last before the final check.
pub const LOADED_ROWS: usize = 8;

/// The source of truth: a version per row, bumped by every update, and for each row the
/// newest version whose invalidation has returned to its caller.
pub struct Source {
    versions: Vec<AtomicU64>,
    acknowledged: Vec<AtomicU64>,
}

impl Source {
    pub fn new() -> Source {
        Source {
            versions: (0..ROWS).map(|_| AtomicU64::new(0)).collect(),
            acknowledged: (0..ROWS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The read a cache miss runs: the row's version, then a pause that widens the window in
    /// which an update can slip between the read and the cache write.
    pub async fn load(&self, row: usize, delay: Duration) -> u64 {
        let version = self.versions[row].load(Ordering::SeqCst);
        tokio::time::sleep(delay).await;
        version
    }

    /// The update an invalidation follows: the row's next version.
    pub fn bump(&self, row: usize) -> u64 {
        self.versions[row].fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The row's newest version.
    pub fn latest(&self, row: usize) -> u64 {
        self.versions[row].load(Ordering::SeqCst)
    }

    /// `version`'s invalidation returned: every read that starts from now on must return it
    /// or a newer one.
    pub fn acknowledge(&self, row: usize, version: u64) {
        self.acknowledged[row].fetch_max(version, Ordering::SeqCst);
    }

    /// The oldest version a read of `row` starting now may return.
    pub fn floor(&self, row: usize) -> u64 {
        self.acknowledged[row].load(Ordering::SeqCst)
    }
}

/// One call of a caller.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// The `#[cached]` read, whose body pauses this long after reading the source.
    Read(usize, Duration),
    /// The update, then `#[invalidate(key = ...)]`.
    UpdateByKey(usize),
    /// The update, then `#[invalidate(tags = [...])]`.
    UpdateByTag(usize),
}

/// What the call returned.
pub enum Done {
    /// The read's value (the body never fails: an `Err` is the cache's doing).
    Read(Result<u64, String>),
    /// The version the update wrote (its invalidation has returned).
    Updated(u64),
}

/// A workload type made by [`workload!`].
pub trait Workload: Send + Sync + 'static {
    /// The name `stats_for` knows its `#[cached]` read by.
    const READ: &'static str;

    fn new(cache: RedisCache, ns: &str) -> Self;

    fn cache(&self) -> &RedisCache;

    fn source(&self) -> &Source;

    /// The cache key of `row` (the cache has no prefix: also the key in the cluster).
    fn key(&self, row: usize) -> String;

    /// Makes the call.
    fn run(&self, op: Op) -> impl Future<Output = Done> + Send;
}

/// `row` through the `#[cached]` read, which never fails.
pub async fn read(app: &impl Workload, row: usize) -> u64 {
    match app.run(Op::Read(row, Duration::ZERO)).await {
        Done::Read(Ok(version)) => version,
        Done::Read(Err(error)) => panic!("a read of row {row} failed: {error}"),
        Done::Updated(_) => unreachable!("a read is not an update"),
    }
}

/// Updates `row` and invalidates it by key; the version written, acknowledged.
pub async fn update(app: &impl Workload, row: usize) -> u64 {
    match app.run(Op::UpdateByKey(row)).await {
        Done::Updated(version) => {
            app.source().acknowledge(row, version);
            version
        }
        Done::Read(_) => unreachable!("an update is not a read"),
    }
}

/// `workload!(Name)`: a [`Workload`] type `Name` with annotated methods of its own.
// rustfmt indents the attribute's arguments further on every run inside a macro.
#[rustfmt::skip]
macro_rules! workload {
    ($name:ident) => {
        pub struct $name {
            cache: cache_aside::RedisCache,
            ns: String,
            source: $crate::workload::Source,
        }

        impl $name {
            #[cache_aside::cached(
                key = "{self.ns}:{{hot}}:row:{row}",
                ttl = 600,
                tags = ["{self.ns}:{{hot}}:tag:{row}"],
                cache = self.cache
            )]
            async fn read(&self, row: usize, delay: std::time::Duration) -> Result<u64, String> {
                Ok(self.source.load(row, delay).await)
            }

            #[cache_aside::invalidate(key = "{self.ns}:{{hot}}:row:{row}", cache = self.cache)]
            async fn update_by_key(&self, row: usize) -> u64 {
                self.source.bump(row)
            }

            #[cache_aside::invalidate(tags = ["{self.ns}:{{hot}}:tag:{row}"], cache = self.cache)]
            async fn update_by_tag(&self, row: usize) -> u64 {
                self.source.bump(row)
            }
        }

        impl $crate::workload::Workload for $name {
            const READ: &'static str = concat!(module_path!(), "::", stringify!($name), "::read");

            fn new(cache: cache_aside::RedisCache, ns: &str) -> Self {
                $name {
                    cache,
                    ns: ns.to_owned(),
                    source: $crate::workload::Source::new(),
                }
            }

            fn cache(&self) -> &cache_aside::RedisCache {
                &self.cache
            }

            fn source(&self) -> &$crate::workload::Source {
                &self.source
            }

            fn key(&self, row: usize) -> String {
                format!("{}:{{hot}}:row:{row}", self.ns)
            }

            async fn run(&self, op: $crate::workload::Op) -> $crate::workload::Done {
                use $crate::workload::{Done, Op};
                match op {
                    Op::Read(row, delay) => Done::Read(self.read(row, delay).await),
                    Op::UpdateByKey(row) => Done::Updated(self.update_by_key(row).await),
                    Op::UpdateByTag(row) => Done::Updated(self.update_by_tag(row).await),
                }
            }
        }
    };
}

pub(crate) use workload;
