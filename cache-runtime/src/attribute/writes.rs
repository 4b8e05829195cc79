//! `#[cache_put]` and `#[invalidate]`: writes and deletions, failing open. Each first marks
//! the loads in flight in this process that it overtakes, so that they do not store what
//! they loaded before the change.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use super::fail_open::FailOpen;
use super::flights;
use super::options::{Keep, StoreTtl};
use super::shape::ReturnKind;
use super::site::Site;
use crate::error::{CacheError, ErrorCode};
use crate::outage::Invalidation;
use crate::port::{Cache, StoreId};

/// `#[cache_put]` after its body: the part of the result to store, or the result to return
/// as it is (counted as a call that stored nothing).
pub fn put_split<R, V>(site: &'static Site, kind: &ReturnKind<R, V>, result: R) -> Result<V, R> {
    site.register();
    Site::count(&site.loads);
    kind.split(result)
}

/// `#[cache_put]`: stores `value` at `key` (recorded under `tags`) for the TTL that `ttl`
/// gives it, and returns it as the function's result. A zero TTL stores nothing and deletes
/// the entry the put would have replaced, which is stale now.
#[allow(clippy::too_many_arguments)] // what the attribute rendered, passed once
pub async fn put<C: Cache, R, V, T: StoreTtl<V>>(
    site: &'static Site,
    cache: &C,
    key: &str,
    ttl: T,
    tags: Vec<String>,
    kind: &ReturnKind<R, V>,
    value: V,
) -> R {
    let mut fail = FailOpen::default();
    // The body has run: if a `ttl = |value| ...` panics, the entry the put would have
    // replaced is stale, and goes before the panic reaches the caller.
    let ttl = match std::panic::catch_unwind(AssertUnwindSafe(|| ttl.of(&value))) {
        Ok(ttl) => ttl,
        Err(panic) => {
            flights::mark_stale(cache.store_id(), Some(key), |_, _| true);
            let deleted = cache.delete(key).await;
            fail.keep(site, key, "delete of the value a put replaces", deleted);
            std::panic::resume_unwind(panic);
        }
    };
    let encoded = kind.encode(&value, key);
    if let Some(raw) = fail.keep(site, key, "encode", encoded) {
        flights::mark_stale(cache.store_id(), Some(key), |_, _| true);
        match Keep::of(ttl, key) {
            Ok(Keep::For(ttl)) => {
                if record_tags(site, cache, key, ttl, &tags, &mut fail).await {
                    match cache.set(key, &raw, ttl).await {
                        Ok(()) => site.used_cleanly(),
                        Err(error) => {
                            fail.record(site, key, "write", &error);
                            replaced_entry_must_go(site, cache, key, &error, &mut fail).await;
                        }
                    }
                }
            }
            Ok(Keep::Not) => {
                let deleted = cache.delete(key).await;
                let deleted = fail.keep(site, key, "delete of a value not stored", deleted);
                if deleted.is_some() {
                    site.used_cleanly();
                }
            }
            Err(error) => {
                fail.record(site, key, "write", &error);
                replaced_entry_must_go(site, cache, key, &error, &mut fail).await;
            }
        }
    }
    kind.rebuild(value)
}

/// Records `key` under `tags` before a put stores it; `false` (with the old entry deleted,
/// since the put means it is stale) when they could not be recorded: a value stored then
/// would escape the tags' invalidations.
async fn record_tags<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    ttl: Option<Duration>,
    tags: &[String],
    fail: &mut FailOpen,
) -> bool {
    let (false, Some(leases)) = (tags.is_empty(), cache.leases()) else {
        // No tags, or a cache without tags: `#[invalidate(tags)]` fails there anyway.
        return true;
    };
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    let Err(error) = leases.record_tags(key, ttl, &tags).await else {
        return true;
    };
    fail.record(site, key, "tag record", &error);
    replaced_entry_must_go(site, cache, key, &error, fail).await;
    false
}

/// The entry a failed put should have replaced is stale now: it is deleted, or, while the
/// store is out of reach, its deletion is kept for when it is back.
async fn replaced_entry_must_go<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    error: &CacheError,
    fail: &mut FailOpen,
) {
    if let Some(outage) = cache.outage()
        && outage.queue_deletion(Invalidation::Key(key), error)
    {
        return;
    }
    if fail.usable() || error.code() == ErrorCode::ValueTooLarge {
        let deleted = cache.delete(key).await;
        fail.keep(
            site,
            key,
            "delete of the value a failed put replaces",
            deleted,
        );
    }
}

/// One deletion asked for by `#[invalidate]`, rendered before the body ran.
#[doc(hidden)]
pub enum Target {
    /// An exact key.
    Key(String),
    /// A Redis glob, with interpolated values already escaped.
    Pattern(String),
    /// A tag: every entry recorded under it.
    Tag(String),
}

impl Target {
    /// Marks the loads in flight in this process that deleting this target overtakes.
    fn mark_loads(&self, store: StoreId) {
        match self {
            Target::Key(key) => flights::mark_stale(store, Some(key), |_, _| true),
            Target::Pattern(pattern) => flights::mark_stale(store, None, |key, _| {
                crate::glob::matches(pattern.as_bytes(), key.as_bytes())
            }),
            Target::Tag(tag) => flights::mark_stale(store, None, |_, tags| tags.contains(tag)),
        }
    }

    fn invalidation(&self) -> Invalidation<'_> {
        match self {
            Target::Key(key) => Invalidation::Key(key),
            Target::Pattern(pattern) => Invalidation::Pattern(pattern),
            Target::Tag(tag) => Invalidation::Tag(tag),
        }
    }

    async fn delete<C: Cache>(&self, cache: &C) -> Result<(), CacheError> {
        match self {
            Target::Key(key) => cache.delete(key).await.map(drop),
            Target::Pattern(pattern) => cache.delete_pattern(pattern).await.map(drop),
            Target::Tag(tag) => cache.invalidate_tags(&[tag]).await.map(drop),
        }
    }
}

/// `#[invalidate]`, after a successful body: deletes every target, in order.
pub async fn invalidate<C: Cache>(site: &'static Site, cache: &C, targets: &[Target]) {
    invalidate_skipped(site);
    // Every target's loads first, also those of targets given up below.
    let store = cache.store_id();
    for target in targets {
        target.mark_loads(store);
    }
    let mut warned = false;
    for (at, target) in targets.iter().enumerate() {
        let Err(error) = target.delete(cache).await else {
            Site::count(&site.invalidations);
            site.used_cleanly();
            continue;
        };
        let refused = error.is_circuit_open();
        Site::count(if refused {
            &site.bypassed
        } else {
            &site.errors
        });
        // Once the cache is out of reach, the remaining targets are not sent (each would wait
        // as long again): kept for replay by a cache that keeps deletions, else given up.
        let unreachable = error.is_unavailable();
        let rest = if unreachable { &targets[at + 1..] } else { &[] };
        let kept = error.is_queued()
            && rest.iter().all(|target| {
                cache
                    .outage()
                    .is_some_and(|outage| outage.queue_deletion(target.invalidation(), &error))
            });
        for _ in rest {
            Site::count(if kept { &site.bypassed } else { &site.errors });
        }
        // A refusal by an open breaker was logged when it opened; anything else once per call.
        if (!refused || !kept) && !std::mem::replace(&mut warned, true) {
            let skipped = (!rest.is_empty()).then(|| tracing::field::display(Targets(rest)));
            if kept {
                tracing::warn!(
                    target: "cache_aside",
                    function = site.function(),
                    code = error.code().as_str(),
                    invalidation = %target,
                    skipped,
                    error = %error,
                    "cache invalidation failed; it is kept and replayed before the cache \
                     serves what it covers again"
                );
            } else {
                tracing::warn!(
                    target: "cache_aside",
                    function = site.function(),
                    code = error.code().as_str(),
                    invalidation = %target,
                    skipped,
                    error = %error,
                    "cache invalidation failed; the entries may be served until their TTL ends"
                );
            }
        }
        if unreachable {
            return;
        }
    }
}

/// `#[invalidate]` after a failed body: nothing is deleted, and the call is counted.
pub fn invalidate_skipped(site: &'static Site) {
    site.register();
    Site::count(&site.loads);
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Key(key) => write!(f, "key {key}"),
            Target::Pattern(pattern) => write!(f, "pattern {pattern}"),
            Target::Tag(tag) => write!(f, "tag {tag}"),
        }
    }
}

/// Targets as a comma-separated list, for a log line.
struct Targets<'a>(&'a [Target]);

impl std::fmt::Display for Targets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (at, target) in self.0.iter().enumerate() {
            if at > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{target}")?;
        }
        Ok(())
    }
}
