//! How a `#[cached]` miss gets the right to store: it takes the key's lease, or waits for
//! the caller (in any process) that holds it, polling with back-off, up to a bound.

use std::time::{Duration, Instant};

use super::run::Trouble;
use super::site::Site;
use crate::lease::{DEFAULT_LEASE, Lease, LeaseToken, Lookup};
use crate::port::Cache;

/// The first pause between two polls of a key that another caller is loading.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause between two polls: waiters see a value at most this late.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// How `#[cached]` fills a key it missed: the entry's TTL, the lease of the load, and the
/// tags the entry is recorded under.
#[doc(hidden)]
pub struct MissOptions {
    pub(super) ttl: Option<Duration>,
    /// How long the lease lives, and how long a caller waits for another's load.
    pub(super) lease: Duration,
    pub(super) tags: Vec<String>,
}

/// `#[cached]`'s `ttl`, `lease` (default [`DEFAULT_LEASE`]) and rendered `tags` for one
/// call.
#[doc(hidden)]
pub fn miss_options(
    ttl: Option<Duration>,
    lease: Option<Duration>,
    tags: Vec<String>,
) -> MissOptions {
    MissOptions {
        ttl,
        // A zero lease would be refused by the store; the shortest one is as good.
        lease: lease.unwrap_or(DEFAULT_LEASE).max(Duration::from_millis(1)),
        tags,
    }
}

/// `lease = <expression>`: the expression must be a `Duration`.
#[doc(hidden)]
pub fn lease(lease: Duration) -> Option<Duration> {
    Some(lease)
}

/// What a read of the key found, with failures already recorded.
pub(super) enum Found {
    Hit(String),
    Loading,
    Missing,
    /// The read failed (recorded in the call's [`Trouble`]).
    Failed,
}

/// How the load's value is written.
pub(super) enum Write {
    /// Under this lease: only if no invalidation removed it meanwhile.
    Leased(LeaseToken),
    /// With a plain `set`, unless an in-process invalidation overtook the load: for
    /// adapters without leases, values that did not decode, and after cache errors.
    Plain,
    /// Not at all: another caller held the lease past the wait's bound.
    Skip,
}

/// What [`acquire`] ended with.
pub(super) enum Acquired {
    /// Another caller's load landed meanwhile: its value, as stored.
    Value(String),
    /// Load, then write so.
    Load(Write),
}

/// Reads `key` as a lease-aware lookup; a failure is recorded.
pub(super) async fn look<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    trouble: &mut Trouble,
) -> Found {
    match trouble.keep(site, key, "read", cache.lookup(key).await) {
        Some(Lookup::Hit(raw)) => Found::Hit(raw),
        Some(Lookup::Loading) => Found::Loading,
        Some(Lookup::Missing) => Found::Missing,
        None => Found::Failed,
    }
}

/// Takes the lease on `key`, or waits for the value of whoever holds it: until a value
/// lands, or the lease is gone (then it tries to take it again), or `fill.lease` has
/// passed (then the caller loads without storing). It never fails: a cache error means a
/// plain load, as before leases.
pub(super) async fn acquire<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    fill: &MissOptions,
    mut found: Found,
    trouble: &mut Trouble,
) -> Acquired {
    let tags: Vec<&str> = fill.tags.iter().map(String::as_str).collect();
    let deadline = Instant::now() + fill.lease;
    let mut pause = FIRST_PAUSE;
    loop {
        match found {
            // Another caller holds the lease: wait below.
            Found::Loading => {}
            // A value that did not decode (a corrupt one, or another type since a deploy)
            // is deleted, then loaded under a lease like any miss, so that it gets the
            // same protection and is recorded under its tags.
            Found::Hit(_) => {
                let deleted = cache.delete(key).await;
                if trouble
                    .keep(site, key, "delete of an undecodable value", deleted)
                    .is_none()
                {
                    return Acquired::Load(unleased(fill));
                }
                found = Found::Missing;
                continue;
            }
            Found::Failed => return Acquired::Load(unleased(fill)),
            Found::Missing => {
                let lease = cache.try_lease(key, fill.lease, fill.ttl, &tags).await;
                match trouble.keep(site, key, "lease", lease) {
                    Some(Lease::Granted(token)) => return Acquired::Load(Write::Leased(token)),
                    Some(Lease::Taken) => {}
                    Some(Lease::Unsupported) => return Acquired::Load(Write::Plain),
                    None => return Acquired::Load(unleased(fill)),
                }
            }
        }
        let now = Instant::now();
        // Waiting needs Tokio's timer; without it, load at once (and do not store).
        if now >= deadline || tokio::runtime::Handle::try_current().is_err() {
            return Acquired::Load(Write::Skip);
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_PAUSE);
        found = match look(site, cache, key, trouble).await {
            Found::Hit(raw) => return Acquired::Value(raw),
            other => other,
        };
    }
}

/// One attempt at the lease, for a load outside any flight: it does not wait, since the
/// callers that end up there (a leader's result could not be handed over) would only
/// queue behind each other.
pub(super) async fn try_once<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    fill: &MissOptions,
    trouble: &mut Trouble,
) -> Write {
    if !trouble.usable {
        return Write::Plain;
    }
    let tags: Vec<&str> = fill.tags.iter().map(String::as_str).collect();
    let lease = cache.try_lease(key, fill.lease, fill.ttl, &tags).await;
    match trouble.keep(site, key, "lease", lease) {
        Some(Lease::Granted(token)) => Write::Leased(token),
        Some(Lease::Taken) => Write::Skip,
        Some(Lease::Unsupported) => Write::Plain,
        None => unleased(fill),
    }
}

/// How to write a load after a cache error kept it from a lease: plainly, as before leases,
/// unless the entry has tags. Those could not be recorded, and an entry that is not under
/// its tags would escape their invalidations.
fn unleased(fill: &MissOptions) -> Write {
    if fill.tags.is_empty() {
        Write::Plain
    } else {
        Write::Skip
    }
}

/// Gives the lease back on a task of its own, for a load whose result is not stored and
/// may not be `Send`, so that the call cannot await anything more; see
/// [`Cache::release_lease_detached`]. Without a Tokio runtime, or for an adapter that
/// cannot detach a release, the lease is left to expire.
pub(super) fn give_back_detached<C: Cache>(
    site: &'static Site,
    cache: &C,
    key: &str,
    write: &Write,
    trouble: &Trouble,
) {
    let Write::Leased(token) = write else {
        return;
    };
    if !trouble.usable {
        return;
    }
    let (Some(release), Ok(runtime)) = (
        cache.release_lease_detached(key, token),
        tokio::runtime::Handle::try_current(),
    ) else {
        return;
    };
    let key = key.to_owned();
    runtime.spawn(async move {
        if let Err(error) = release.await {
            Trouble::default().record(site, &key, "lease release", &error);
        }
    });
}

/// Gives the lease back, for a load whose result is not stored, so that other callers do
/// not wait for it to expire.
pub(super) async fn give_back<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    write: &Write,
    trouble: &mut Trouble,
) {
    if let Write::Leased(token) = write
        && trouble.usable
    {
        let released = cache.release_lease(key, token).await;
        trouble.keep(site, key, "lease release", released);
    }
}
