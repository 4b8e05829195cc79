//! The right to store what a load loaded: the one place where a miss stores its value or
//! gives its lease back, on every path, cancellation and panics included.

use std::time::Duration;

use super::fail_open::FailOpen;
use super::flights::Flight;
use super::options::Keep;
use super::site::Site;
use crate::error::CacheError;
use crate::lease::{Lease, LeaseToken, Leases};
use crate::outage::Invalidation;
use crate::port::Cache;

/// How a load may store its value.
pub(super) enum Permit<'a> {
    /// Under this lease: only if no invalidation removed its marker meanwhile.
    Lease(Held<'a>),
    /// With a plain `set`, unless an invalidation in this process overtook the load: for
    /// caches without leases.
    Unconditional,
    /// Not at all: the lease could not be had (a cache failure, another caller's lease held
    /// past the wait), so a value stored now might be stale.
    Never,
}

/// A lease this call holds, or may hold (its `SET NX` is on its way): dropping it gives the
/// lease back, however the call ends, unless the value was stored under it or the store said
/// the marker is not there.
pub(super) struct Held<'a> {
    leases: &'a dyn Leases,
    key: &'a str,
    token: LeaseToken,
    lease: Duration,
    /// Whether the store may hold this lease's marker.
    armed: bool,
}

impl<'a> Held<'a> {
    /// A token for a lease on `key`, held by nobody yet.
    pub(super) fn new(leases: &'a dyn Leases, key: &'a str, lease: Duration) -> Self {
        Held {
            leases,
            key,
            token: LeaseToken::new(),
            lease,
            armed: false,
        }
    }

    pub(super) fn leases(&self) -> &'a dyn Leases {
        self.leases
    }

    pub(super) fn token(&self) -> &LeaseToken {
        &self.token
    }

    /// Asks the store for this lease on its key (`try_lease` with this token), recording the
    /// key under `tags`; `ttl` is the TTL the value will be stored with, if known.
    pub(super) async fn request(
        &self,
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<Lease, CacheError> {
        self.leases
            .try_lease(self.key, &self.token, self.lease, ttl, tags)
            .await
    }

    /// A `try_lease` with this token is about to be sent: from now on the marker may be there.
    pub(super) fn arm(&mut self) {
        self.armed = true;
    }

    /// The store said it holds no marker of this lease (another's lease or a value is there,
    /// or the conditional store replaced it).
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Held<'_> {
    /// Gives the lease back after a result that is not stored, leaving it to `flight`'s
    /// running checks if there are any (see `Flight::hand_over_release`).
    pub(super) fn give_back_after_checks(mut self, flight: &Flight) {
        if self.armed && flight.hand_over_release(&self.token, self.lease) {
            self.armed = false;
        }
    }
}

/// A check of a flight's lease in the store: when it ends (or is dropped), the last check
/// gives back a lease the leader handed over meanwhile.
pub(super) struct Checking<'a> {
    flight: &'a Flight,
    leases: &'a dyn Leases,
    key: &'a str,
}

impl<'a> Checking<'a> {
    pub(super) fn new(flight: &'a Flight, leases: &'a dyn Leases, key: &'a str) -> Self {
        flight.begin_check();
        Checking {
            flight,
            leases,
            key,
        }
    }
}

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        if let Some((token, lease)) = self.flight.end_check() {
            self.leases.release(self.key, &token, lease);
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.leases.release(self.key, &self.token, self.lease);
        }
    }
}

impl Permit<'_> {
    /// Gives a held lease back after a result that is not stored: once the checks running
    /// on `flight` are over.
    pub(super) fn give_back(self, flight: &Flight) {
        if let Permit::Lease(held) = self {
            held.give_back_after_checks(flight);
        }
    }

    /// Stores `raw` at `key` for `ttl` as the permit allows, unless `flight` was overtaken by
    /// an invalidation in this process or `ttl` says not to (zero, or an error over 100
    /// years). A held lease that did not store is given back; a value not stored because an
    /// invalidation came during its load is counted as `overtaken`.
    #[allow(clippy::too_many_arguments)] // one call's state, passed down once
    pub(super) async fn store<C: Cache>(
        self,
        site: &Site,
        cache: &C,
        key: &str,
        raw: &str,
        ttl: Option<Duration>,
        fail: &mut FailOpen,
        flight: &Flight,
    ) {
        let ttl = match Keep::of(ttl, key) {
            Ok(Keep::For(ttl)) => ttl,
            Ok(Keep::Not) => return self.give_back(flight),
            Err(error) => {
                if !matches!(self, Permit::Never) {
                    fail.record(site, key, "write", &error);
                }
                return self.give_back(flight);
            }
        };
        let overtaken = match self {
            Permit::Never => false,
            _ if flight.is_stale() => true,
            _ if !fail.usable() => false,
            Permit::Lease(mut held) => {
                let written = held.leases.set_leased(key, &held.token, raw, ttl).await;
                let stored = fail.keep(site, key, "write", written);
                // Stored, or the marker is gone: an invalidation (here or in another
                // process), a write or the lease's expiry removed it, so the value may
                // predate it. After a failure, dropping `held` gives the lease back: if the
                // store landed after all, the release finds no marker and does nothing.
                if stored.is_some() {
                    held.disarm();
                }
                stored == Some(false)
            }
            Permit::Unconditional => {
                write_unless_overtaken(site, cache, key, raw, ttl, fail, flight).await
            }
        };
        if overtaken {
            Site::count(&site.overtaken);
        }
    }
}

/// A plain write, for caches without leases; whether an invalidation overtook it. One that
/// comes during the write may have run before the write landed: the write is then undone
/// (or, if it timed out and may still land, its deletion is queued). Loads are marked before
/// an invalidation deletes, so one of the two sees the other.
async fn write_unless_overtaken<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    raw: &str,
    ttl: Option<Duration>,
    fail: &mut FailOpen,
    flight: &Flight,
) -> bool {
    let written = cache.set(key, raw, ttl).await;
    if !flight.is_stale() {
        fail.keep(site, key, "write", written);
        return false;
    }
    match written {
        Ok(()) => {
            let undone = cache.delete(key).await;
            fail.keep(site, key, "delete of an overtaken value", undone);
        }
        Err(error) => {
            if error.is_timeout()
                && let Some(outage) = cache.outage()
            {
                outage.queue_deletion(Invalidation::Key(key), &error);
            }
            fail.record(site, key, "write", &error);
        }
    }
    true
}
