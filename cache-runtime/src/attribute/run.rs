//! The calls that the attributes expand into: cached read-through, write-through and
//! invalidation. Each fails open: a cache problem is logged once per call, counted in the
//! function's [`Site`], and the caller gets what the body returns.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::flight::{Landed, Role};
use super::lease::{
    Acquired, Found, MissOptions, Write, acquire, give_back, give_back_detached, look, try_once,
};
use super::shape::ReturnKind;
use super::site::Site;
use crate::error::{CacheError, ErrorCode};
use crate::lease::LeaseToken;
use crate::port::Cache;

/// `#[cached]`: the value at `key`, or the body's result, loaded once per key and cache at a
/// time in this process and stored when its shape says so. With `enabled` false (a
/// `condition` that did not hold) the body runs and the cache is not touched.
///
/// A miss takes the key's lease before the body runs, so that one caller across all
/// processes loads and an invalidation during the load keeps its value from being stored;
/// see `attribute/lease.rs`.
pub async fn cached<C, R, V, F>(
    site: &'static Site,
    cache: &C,
    enabled: bool,
    key: String,
    fill: MissOptions,
    shape: ReturnKind<R, V>,
    body: F,
) -> R
where
    C: Cache,
    F: Future<Output = R>,
{
    site.register();
    if !enabled {
        Site::count(&site.loads);
        return body.await;
    }
    let mut trouble = Trouble::default();
    let found = look(site, cache, &key, &mut trouble).await;
    if let Found::Hit(raw) = &found
        && let Some(result) = decode(site, &key, raw, &shape, &mut trouble)
    {
        Site::count(&site.hits);
        return result;
    }
    // Boxed: the state of a miss (single flight, the lease, waiting, writing) would
    // otherwise make the future of every call larger, hits included.
    Box::pin(miss(site, cache, key, fill, shape, body, found, trouble)).await
}

/// `#[cached]` after a miss (or a value that did not decode): loads once per key in this
/// process, under the key's lease across processes.
#[allow(clippy::too_many_arguments)] // one call's state, passed down once
async fn miss<C, R, V, F>(
    site: &'static Site,
    cache: &C,
    key: String,
    fill: MissOptions,
    shape: ReturnKind<R, V>,
    body: F,
    mut found: Found,
    mut trouble: Trouble,
) -> R
where
    C: Cache,
    F: Future<Output = R>,
{
    // A call counts once, as a hit or a miss, however it goes round the loop.
    let mut outcome = Once::default();
    // The lease of a leader that was cancelled or panicked, taken over from its flight.
    let mut inherited: Option<LeaseToken> = None;
    loop {
        match site.flights.join(cache.identity(), &key, &fill.tags) {
            Role::Waiter(flight) => {
                if let Some(token) = inherited.take() {
                    // Another caller leads now: the lease goes back for it to take.
                    let write = Write::Leased(token);
                    give_back(site, cache, &key, &write, &mut trouble).await;
                }
                if matches!(found, Found::Missing) && flight.holds_lease() {
                    // This call read no lease, yet the flight holds one: read again. Still
                    // none means an invalidation elsewhere deleted it, so what the flight
                    // loads may predate it: start afresh rather than wait for that.
                    found = look(site, cache, &key, &mut trouble).await;
                    if matches!(found, Found::Missing) {
                        site.flights.forget_stale(cache.identity(), &key, &flight);
                        continue;
                    }
                }
                outcome.count(&site.misses);
                match flight.wait().await {
                    Landed::Json(raw) => {
                        if let Ok(value) = shape.decode(&key, raw) {
                            Site::count(&site.coalesced);
                            return shape.rebuild(value);
                        }
                        // Another instantiation of a generic function: load for ourselves.
                        break;
                    }
                    Landed::Uncached(shared) => match shape.take_shared(&**shared) {
                        Some(result) => {
                            Site::count(&site.coalesced);
                            return result;
                        }
                        None => break,
                    },
                    Landed::RunYourself => break,
                    Landed::Abandoned => {
                        inherited = flight.take_lease();
                        continue;
                    }
                }
            }
            Role::Leader(leader) => {
                // A leader that finished between our read and our joining has stored its
                // value by now; reading again keeps that from loading twice. Not after a
                // failed read: the same failure would only be counted twice.
                if trouble.usable && !trouble.logged && inherited.is_none() {
                    found = look(site, cache, &key, &mut trouble).await;
                    if let Found::Hit(raw) = &found
                        && let Some(result) = decode(site, &key, raw, &shape, &mut trouble)
                    {
                        outcome.count(&site.hits);
                        leader.land(Landed::Json(raw.as_str().into()));
                        return result;
                    }
                }
                outcome.count(&site.misses);
                let acquired = match inherited.take() {
                    Some(token) => Acquired::Load(Write::Leased(token)),
                    None => acquire(site, cache, &key, &fill, found, &mut trouble).await,
                };
                let write = match acquired {
                    Acquired::Value(raw) => {
                        if let Some(result) = decode(site, &key, &raw, &shape, &mut trouble) {
                            Site::count(&site.coalesced);
                            leader.land(Landed::Json(raw.into()));
                            return result;
                        }
                        Write::Plain
                    }
                    Acquired::Load(write) => write,
                };
                if let Write::Leased(token) = &write {
                    leader.hold(token, cache.release_lease_detached(&key, token));
                }
                Site::count(&site.loads);
                let value = match shape.split(body.await) {
                    Ok(value) => value,
                    Err(uncached) => {
                        let landed = shape.share(&uncached);
                        leader.land(landed.map_or(Landed::RunYourself, Landed::Uncached));
                        give_back_detached(site, cache, &key, &write, &trouble);
                        return uncached;
                    }
                };
                let Some(raw) = encode(site, &key, &shape, &value, &mut trouble) else {
                    leader.land(Landed::RunYourself);
                    give_back(site, cache, &key, &write, &mut trouble).await;
                    return shape.rebuild(value);
                };
                // The waiters get the value before the write, so they do not wait for it.
                leader.land(Landed::Json(Arc::clone(&raw)));
                let stale = || leader.is_stale();
                finish(site, cache, &key, &raw, &fill, write, &mut trouble, stale).await;
                return shape.rebuild(value);
            }
        }
    }
    // A load of its own, outside any flight, so no invalidation can mark it: it watches
    // the count of invalidations instead, and gives up its write if any came meanwhile.
    let write = try_once(site, cache, &key, &fill, &mut trouble).await;
    Site::count(&site.loads);
    let overtaken = OVERTAKEN.load(Ordering::SeqCst);
    let value = match shape.split(body.await) {
        Ok(value) => value,
        Err(uncached) => {
            give_back_detached(site, cache, &key, &write, &trouble);
            return uncached;
        }
    };
    match encode(site, &key, &shape, &value, &mut trouble) {
        Some(raw) => {
            let stale = || OVERTAKEN.load(Ordering::SeqCst) != overtaken;
            finish(site, cache, &key, &raw, &fill, write, &mut trouble, stale).await;
        }
        None => give_back(site, cache, &key, &write, &mut trouble).await,
    }
    shape.rebuild(value)
}

/// Writes a loaded value as `write` says, unless `overtaken` says an in-process
/// invalidation or put of the key came during the load (then a lease is given back).
#[allow(clippy::too_many_arguments)] // one call's state, passed down once
async fn finish<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    raw: &str,
    fill: &MissOptions,
    write: Write,
    trouble: &mut Trouble,
    overtaken: impl Fn() -> bool,
) {
    match write {
        Write::Leased(token) if !overtaken() && trouble.usable => {
            // `false`: an invalidation removed the lease during the load, so the value may
            // predate it and is not stored.
            let stored = cache.set_leased(key, &token, raw, fill.ttl).await;
            if trouble.keep(site, key, "write", stored).is_none() {
                // A refused write (a zero TTL, say) must not leave others waiting.
                give_back(site, cache, key, &Write::Leased(token), trouble).await;
            }
        }
        write @ Write::Leased(_) => give_back(site, cache, key, &write, trouble).await,
        Write::Plain => {
            write_unless_overtaken(site, cache, key, raw, fill.ttl, trouble, overtaken).await;
        }
        Write::Skip => {}
    }
}

/// How many in-process invalidations and puts have started: bumped before they mark
/// in-flight loads and touch the cache.
static OVERTAKEN: AtomicU64 = AtomicU64::new(0);

/// Counts a call once: only the first of its `count`s counts.
#[derive(Default)]
struct Once(bool);

impl Once {
    fn count(&mut self, counter: &AtomicU64) {
        if !std::mem::replace(&mut self.0, true) {
            Site::count(counter);
        }
    }
}

/// `ttl = <expression>`: the expression must be a `Duration`.
#[doc(hidden)]
pub fn ttl(ttl: Duration) -> Option<Duration> {
    Some(ttl)
}

/// `#[cache_put]` after its body: the part of the result to store, or the result to return
/// as it is (counted as a call that stored nothing).
pub fn put_split<R, V>(site: &'static Site, shape: &ReturnKind<R, V>, result: R) -> Result<V, R> {
    site.register();
    Site::count(&site.loads);
    shape.split(result)
}

/// `#[cache_put]`: stores `value` at `key` and returns it as the function's result. `tags`
/// are the rendered `tags = [...]` (not recorded yet).
pub async fn put<C: Cache, R, V>(
    site: &'static Site,
    cache: &C,
    key: &str,
    ttl: Option<Duration>,
    tags: Vec<String>,
    shape: &ReturnKind<R, V>,
    value: V,
) -> R {
    let _ = tags;
    let mut trouble = Trouble::default();
    if let Some(raw) = encode(site, key, shape, &value, &mut trouble) {
        overtake(cache, |loading, _| loading == key);
        if let Written::Failed(error) = write(site, cache, key, &raw, ttl, &mut trouble).await {
            // The entry this put should have replaced is stale now: it must go too.
            if error.code() == ErrorCode::ValueTooLarge {
                let deleted = cache.delete(key).await;
                trouble.keep(
                    site,
                    key,
                    "delete of the value an oversized put replaces",
                    deleted,
                );
            } else {
                // Out of reach: deleted once the store is back, before anything is read.
                cache.delete_later(key, &error);
            }
        }
    }
    shape.rebuild(value)
}

/// Marks the in-flight loads of `cache` whose keys `covers` matches as stale, before a
/// write or a deletion of those keys: they may have read the data before the change that
/// this write or deletion follows, so they must not store it, nor be joined from now on.
fn overtake<C: Cache>(cache: &C, covers: impl Fn(&str, &[String]) -> bool) {
    OVERTAKEN.fetch_add(1, Ordering::SeqCst);
    let identity = cache.identity();
    Site::each(|site| site.flights.invalidate(identity, &covers));
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

/// `#[invalidate]`, after a successful body: deletes every target, in order.
pub async fn invalidate<C: Cache>(site: &'static Site, cache: &C, targets: &[Target]) {
    invalidate_skipped(site);
    let mut warned = false;
    for (at, target) in targets.iter().enumerate() {
        overtake(cache, |key, tags| target.covers(key, tags));
        let outcome = match target {
            Target::Key(key) => cache.delete(key).await.map(drop),
            Target::Pattern(pattern) => cache.delete_pattern(pattern).await.map(drop),
            Target::Tag(tag) => cache.invalidate_tags(&[tag]).await.map(drop),
        };
        let Err(error) = outcome else {
            Site::count(&site.invalidations);
            continue;
        };
        // A refusal by an open breaker was logged when it opened; not once per call.
        let refused = error.is_circuit_open();
        Site::count(if refused {
            &site.bypassed
        } else {
            &site.errors
        });
        if error.is_queued() {
            // The adapter replays it, and serves no read until then; the next targets
            // are refused at once and kept the same way.
            if !refused && !std::mem::replace(&mut warned, true) {
                tracing::warn!(
                    function = site.function(),
                    code = error.code().as_str(),
                    target = %target,
                    error = %error,
                    "cache invalidation failed; it is kept and replayed before the cache \
                     serves reads again"
                );
            }
            continue;
        }
        // An unreachable cache that keeps nothing would make each remaining target wait as
        // long again: they are given up with this one, and named in the same warning.
        let unreachable = error.is_unavailable();
        let skipped = if unreachable { &targets[at + 1..] } else { &[] };
        for _ in skipped {
            Site::count(&site.errors);
        }
        if !refused || !skipped.is_empty() {
            tracing::warn!(
                function = site.function(),
                code = error.code().as_str(),
                target = %target,
                skipped = (!skipped.is_empty())
                    .then(|| tracing::field::display(Targets(skipped))),
                error = %error,
                "cache invalidation failed; the entries may be served until their TTL ends"
            );
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

impl Target {
    /// Whether deleting this target deletes `key`, recorded under `tags`.
    fn covers(&self, key: &str, tags: &[String]) -> bool {
        match self {
            Target::Key(exact) => exact == key,
            Target::Pattern(pattern) => crate::glob::matches(pattern.as_bytes(), key.as_bytes()),
            Target::Tag(tag) => tags.contains(tag),
        }
    }
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

/// What went wrong with the cache during one call.
pub(super) struct Trouble {
    /// Whether a failure was already recorded (and logged: one warning per call is enough).
    logged: bool,
    /// False once the cache could not be reached: the rest of the call skips it rather
    /// than wait for a second timeout.
    pub(super) usable: bool,
}

impl Default for Trouble {
    fn default() -> Self {
        Trouble {
            logged: false,
            usable: true,
        }
    }
}

impl Trouble {
    /// The value of `result`, or `None` with its error recorded.
    pub(super) fn keep<T>(
        &mut self,
        site: &Site,
        key: &str,
        what: &str,
        result: Result<T, CacheError>,
    ) -> Option<T> {
        result
            .inspect_err(|error| self.record(site, key, what, error))
            .ok()
    }

    pub(super) fn record(&mut self, site: &Site, key: &str, what: &str, error: &CacheError) {
        // A key over the limit fails the same way on every operation.
        if error.is_unavailable() || error.code() == ErrorCode::KeyTooLarge {
            self.usable = false;
        }
        if error.is_circuit_open() {
            // Logged once when the breaker opened, not once per call.
            Site::count(&site.bypassed);
            return;
        }
        if error.code() == ErrorCode::ValueTooLarge {
            Site::count(&site.oversized);
        } else {
            Site::count(&site.errors);
        }
        if !std::mem::replace(&mut self.logged, true) {
            tracing::warn!(
                function = site.function(),
                code = error.code().as_str(),
                key,
                error = %error,
                "cache {what} failed; the call goes on without the cache"
            );
        }
    }
}

/// A stored value that does not decode (corrupt, or another type since a deploy) is a miss;
/// the load that follows overwrites it.
fn decode<R, V>(
    site: &Site,
    key: &str,
    raw: &str,
    shape: &ReturnKind<R, V>,
    trouble: &mut Trouble,
) -> Option<R> {
    let value = trouble.keep(site, key, "decode", shape.decode(key, raw))?;
    Some(shape.rebuild(value))
}

/// The JSON of a value to store; a failure is counted and logged.
fn encode<R, V>(
    site: &Site,
    key: &str,
    shape: &ReturnKind<R, V>,
    value: &V,
    trouble: &mut Trouble,
) -> Option<Arc<str>> {
    let raw = trouble.keep(site, key, "encode", shape.encode(value, key))?;
    Some(raw.into())
}

/// Writes `raw` unless `overtaken` says an invalidation or a put of the key came during the
/// load. One that comes during the write may have run before the write landed: then the
/// write is undone. Loads are marked before the invalidation deletes, so one of the two
/// sees the other.
async fn write_unless_overtaken<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    raw: &str,
    ttl: Option<Duration>,
    trouble: &mut Trouble,
    overtaken: impl Fn() -> bool,
) {
    if overtaken() {
        return;
    }
    let written = write(site, cache, key, raw, ttl, trouble).await;
    if !overtaken() {
        return;
    }
    match written {
        Written::Stored => {
            let undone = cache.delete(key).await;
            trouble.keep(site, key, "delete of an overtaken value", undone);
        }
        // A write that timed out may still land: undone once the store is back.
        Written::Failed(error) if error.is_timeout() => {
            cache.delete_later(key, &error);
        }
        Written::Failed(_) | Written::Skipped => {}
    }
}

/// What became of a plain write.
enum Written {
    Stored,
    /// Recorded in the call's trouble.
    Failed(CacheError),
    /// Not tried: the cache was out of reach earlier in the call.
    Skipped,
}

async fn write<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    raw: &str,
    ttl: Option<Duration>,
    trouble: &mut Trouble,
) -> Written {
    if !trouble.usable {
        return Written::Skipped;
    }
    match cache.set(key, raw, ttl).await {
        Ok(()) => Written::Stored,
        Err(error) => {
            trouble.record(site, key, "write", &error);
            Written::Failed(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::{Notify, oneshot};

    use super::*;
    use crate::attribute::lease::miss_options;
    use crate::attribute::shape::{Plain, return_kind};
    use crate::memory::MemoryCache;

    async fn with_timeout<F: Future>(future: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(10), future)
            .await
            .expect("bounded wait")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiter_takes_over_when_the_leader_is_cancelled() {
        static SITE: Site = Site::new("tests::cancelled");
        let cache = Arc::new(MemoryCache::new());
        let started = Arc::new(Notify::new());
        let (_never, blocked) = oneshot::channel::<()>();

        // The leader starts its body, then is aborted while it waits.
        let leader = tokio::spawn({
            let (cache, started) = (Arc::clone(&cache), Arc::clone(&started));
            async move {
                cached(
                    &SITE,
                    &*cache,
                    true,
                    "k".into(),
                    miss_options(None, None, Vec::new()),
                    return_kind(Plain),
                    async {
                        started.notify_one();
                        let _ = blocked.await;
                        1_u32
                    },
                )
                .await
            }
        });
        with_timeout(started.notified()).await;
        let waiter = tokio::spawn({
            let cache = Arc::clone(&cache);
            async move {
                cached(
                    &SITE,
                    &*cache,
                    true,
                    "k".into(),
                    miss_options(None, None, Vec::new()),
                    return_kind(Plain),
                    async { 2_u32 },
                )
                .await
            }
        });
        // Let the waiter join the flight before the leader goes away.
        with_timeout(async {
            while SITE.flights.waiters(cache.identity(), "k") < 1 {
                tokio::task::yield_now().await;
            }
        })
        .await;
        leader.abort();
        assert_eq!(with_timeout(waiter).await.unwrap(), 2);
        assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("2"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_body_releases_its_waiters() {
        static SITE: Site = Site::new("tests::panicked");
        let cache = Arc::new(MemoryCache::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(Notify::new());
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (cache, runs, release) =
                    (Arc::clone(&cache), Arc::clone(&runs), Arc::clone(&release));
                tokio::spawn(async move {
                    cached(
                        &SITE,
                        &*cache,
                        true,
                        "k".into(),
                        miss_options(None, None, Vec::new()),
                        return_kind(Plain),
                        async move {
                            if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                                release.notified().await;
                                panic!("the first body panics");
                            }
                            7_u32
                        },
                    )
                    .await
                })
            })
            .collect();
        with_timeout(async {
            while SITE.flights.waiters(cache.identity(), "k") < 7 {
                tokio::task::yield_now().await;
            }
        })
        .await;
        release.notify_one();
        let mut values = Vec::new();
        for call in calls {
            if let Ok(value) = with_timeout(call).await {
                values.push(value);
            }
        }
        assert_eq!(
            values,
            vec![7; 7],
            "one call panicked, the others got a value"
        );
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "one panicked body, one more load"
        );
    }
}
