//! Every `#[cached]` load in flight in this process, by store and key: so that concurrent
//! misses of one function on one key share one load (single flight), and so that an
//! invalidation or a put in this process marks the loads it overtakes, precisely.
//!
//! A leader's results cross to its waiters as JSON or as type-erased results, since the
//! table cannot name the functions' types; a waiter that cannot use what was published
//! loads for itself.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use super::site::Site;
use crate::lease::LeaseToken;
use crate::port::StoreId;

/// What a leader published, as its waiters receive it.
pub(super) enum Outcome {
    /// A value, as the JSON that is (or would have been) stored.
    Value(Arc<str>),
    /// A result that is not cached (an `Err`, a `None`), in a form waiters can share.
    Shared(Arc<dyn Any + Send + Sync>),
    /// The leader's result cannot be handed over: each waiter loads for itself.
    NotShareable,
    /// The leader was cancelled or panicked before publishing: waiters start again.
    Abandoned,
}

/// One load in flight.
pub(super) struct Flight {
    /// The function loading (its site's address): only its own calls join.
    site: usize,
    /// The tags the load is recorded under, for tag invalidations.
    tags: Box<[String]>,
    /// The lease the load holds or is taking in the store, fixed when the flight starts, so
    /// that a caller can check in the store that the flight is still current before joining.
    token: Option<LeaseToken>,
    /// Whether new callers may join: not for loads outside a flight, nor once stale.
    joinable: AtomicBool,
    /// Set when an invalidation or a put in this process covered the key during the load:
    /// what it loaded may predate the change, so it is not stored.
    stale: AtomicBool,
    /// Set when the body starts: the leader is past talking to the store.
    loading: AtomicBool,
    outcome: OnceLock<Outcome>,
    notify: Notify,
    checks: Mutex<Checks>,
}

/// The callers checking a flight's lease in the store right now, and the lease its leader
/// gave back meanwhile: it goes back once they have checked, so that a leader that shares an
/// uncached result (an `Err`, a `None`) does not make its joiners find its lease gone and load
/// again, one generation after another.
#[derive(Default)]
struct Checks {
    running: usize,
    release: Option<(LeaseToken, Duration)>,
}

impl Flight {
    fn checks(&self) -> MutexGuard<'_, Checks> {
        self.checks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A caller starts checking the flight's lease in the store.
    pub(super) fn begin_check(&self) {
        self.checks().running += 1;
    }

    /// A caller's check is over; the lease to give back now, if the leader handed it over
    /// and this was the last check.
    pub(super) fn end_check(&self) -> Option<(LeaseToken, Duration)> {
        let mut checks = self.checks();
        checks.running = checks.running.saturating_sub(1);
        if checks.running == 0 {
            checks.release.take()
        } else {
            None
        }
    }

    /// The leader gives `token`'s lease back: `true` if checks are running, which then give
    /// it back when the last one ends; `false` if the leader gives it back itself, now.
    pub(super) fn hand_over_release(&self, token: &LeaseToken, lease: Duration) -> bool {
        let mut checks = self.checks();
        if checks.running == 0 {
            return false;
        }
        checks.release = Some((token.clone(), lease));
        true
    }

    /// The lease token the flight's load holds, if it has one.
    pub(super) fn token(&self) -> Option<&LeaseToken> {
        self.token.as_ref()
    }

    /// Whether an invalidation in this process overtook the load.
    pub(super) fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Acquire)
    }

    /// Whether the leader runs its body (rather than still talking to the store).
    pub(super) fn is_loading(&self) -> bool {
        self.loading.load(Ordering::Acquire)
    }

    /// Waits until the leader is past the store (its body runs: its lease is placed, or it
    /// holds none) or has published: only then does the store tell whether the flight is
    /// current. A check sent before the leader's own lease request reached the store would
    /// find no marker and take the lease itself, and every caller doing so would load.
    pub(super) async fn past_the_store(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_loading() || self.outcome.get().is_some() {
                return;
            }
            notified.await;
        }
    }

    /// Waits for the leader's outcome.
    pub(super) async fn wait(&self) -> &Outcome {
        loop {
            // Made before the check: a `notify_waiters` between the two reaches it.
            let notified = self.notify.notified();
            if let Some(outcome) = self.outcome.get() {
                return outcome;
            }
            notified.await;
        }
    }
}

type Loads = HashMap<(StoreId, String), Vec<Arc<Flight>>>;

/// The loads in flight in this process. Misses are rare next to hits and short next to a
/// load, so one lock for all of them costs nothing that shows.
static LOADS: OnceLock<Mutex<Loads>> = OnceLock::new();

fn loads() -> MutexGuard<'static, Loads> {
    LOADS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// A caller's part in the flight for its key.
pub(super) enum Role {
    /// It loads: it starts a flight, which it publishes to.
    Leader(Registration),
    /// It waits for this flight's outcome.
    Waiter(Arc<Flight>),
}

/// Joins the flight of `site` on `key` in `store`, or starts one (recorded under `tags`,
/// holding `token`). `stale` is a flight the caller found out of date: it is closed to
/// joiners first, so that the caller leads a new one (or joins one that somebody else
/// started since).
pub(super) fn join(
    site: &'static Site,
    store: StoreId,
    key: &str,
    tags: &[String],
    token: Option<&LeaseToken>,
    stale: Option<&Flight>,
) -> Role {
    let site = site as *const Site as usize;
    let mut loads = loads();
    if let Some(stale) = stale {
        stale.joinable.store(false, Ordering::Release);
    }
    let flights = loads.entry((store, key.to_owned())).or_default();
    if let Some(flight) = flights
        .iter()
        .find(|flight| flight.site == site && flight.joinable.load(Ordering::Acquire))
    {
        return Role::Waiter(Arc::clone(flight));
    }
    Role::Leader(register(flights, store, key, site, tags, token, true))
}

/// Registers a load outside any flight: nobody joins it, but invalidations mark it.
pub(super) fn alone(
    store: StoreId,
    key: &str,
    tags: &[String],
    token: Option<&LeaseToken>,
) -> Registration {
    let mut loads = loads();
    let flights = loads.entry((store, key.to_owned())).or_default();
    register(flights, store, key, 0, tags, token, false)
}

fn register(
    flights: &mut Vec<Arc<Flight>>,
    store: StoreId,
    key: &str,
    site: usize,
    tags: &[String],
    token: Option<&LeaseToken>,
    joinable: bool,
) -> Registration {
    let flight = Arc::new(Flight {
        site,
        tags: tags.into(),
        token: token.cloned(),
        joinable: AtomicBool::new(joinable),
        stale: AtomicBool::new(false),
        loading: AtomicBool::new(false),
        outcome: OnceLock::new(),
        notify: Notify::new(),
        checks: Mutex::default(),
    });
    flights.push(Arc::clone(&flight));
    Registration {
        store,
        key: key.to_owned(),
        flight,
    }
}

/// Marks the loads of `store` that an invalidation or a put covers as stale, and closes them
/// to joiners: `exact` for one key (found directly), or `covers` (given a key and its tags)
/// for patterns and tags (every load of the store is looked at).
pub(super) fn mark_stale(
    store: StoreId,
    exact: Option<&str>,
    covers: impl Fn(&str, &[String]) -> bool,
) {
    let mut loads = loads();
    let mark = |flight: &Arc<Flight>| {
        flight.stale.store(true, Ordering::Release);
        flight.joinable.store(false, Ordering::Release);
    };
    match exact {
        Some(key) => {
            if let Some(flights) = loads.get_mut(&(store, key.to_owned())) {
                flights.iter().for_each(mark);
            }
        }
        None => {
            for ((id, key), flights) in loads.iter_mut() {
                if *id == store {
                    for flight in flights.iter().filter(|flight| covers(key, &flight.tags)) {
                        mark(flight);
                    }
                }
            }
        }
    }
}

/// A load's place in the table. Dropping it (after the load, or when the call is cancelled
/// or panics) takes the load out, and publishes [`Outcome::Abandoned`] if nothing was
/// published, so that waiters start again.
pub(super) struct Registration {
    store: StoreId,
    key: String,
    flight: Arc<Flight>,
}

impl Registration {
    pub(super) fn flight(&self) -> &Flight {
        &self.flight
    }

    /// The body starts: the load is past talking to the store.
    pub(super) fn loading(&self) {
        self.flight.loading.store(true, Ordering::Release);
        // Waiters checking the flight wait for this (see `Flight::past_the_store`).
        self.flight.notify.notify_waiters();
    }

    /// Hands `outcome` to the waiters. The flight stays joinable until the load is done, so
    /// a caller arriving meanwhile gets it at once.
    pub(super) fn publish(&self, outcome: Outcome) {
        // Only the first outcome counts: a flight publishes once.
        let _ = self.flight.outcome.set(outcome);
        self.flight.notify.notify_waiters();
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.publish(Outcome::Abandoned);
        let mut loads = loads();
        let key = (self.store, std::mem::take(&mut self.key));
        if let Some(flights) = loads.get_mut(&key) {
            flights.retain(|flight| !Arc::ptr_eq(flight, &self.flight));
            if flights.is_empty() {
                loads.remove(&key);
            }
        }
    }
}

/// How many callers wait on the flight of `site` for `key` in `store`, for tests.
#[cfg(test)]
pub(super) fn waiters(site: &'static Site, store: StoreId, key: &str) -> usize {
    let site = site as *const Site as usize;
    loads()
        .get(&(store, key.to_owned()))
        .and_then(|flights| flights.iter().find(|flight| flight.site == site))
        // One reference is the table's, one the leader's; the rest are waiters'.
        .map_or(0, |flight| Arc::strong_count(flight).saturating_sub(2))
}
