//! In-process single flight: concurrent misses on one key of one function run the body once.
//!
//! The leader is the caller that runs the body; the others wait on its [`Flight`] and get
//! what it [`Landed`]. Flights live in the function's `static` site, which cannot name the
//! function's types, so results cross as JSON or as type-erased errors and are checked on
//! the way out: a waiter that cannot use what landed runs the body itself.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::Notify;

use crate::lease::{DetachedRelease, LeaseToken};
use crate::port::Identity;

/// What a leader's call ended with, as its waiters receive it.
pub(super) enum Landed {
    /// A value, as the JSON that was (or would have been) stored.
    Json(Arc<str>),
    /// A result that is not cached (an `Err`, or a `None`), when it can be handed over.
    Uncached(Arc<dyn Any + Send + Sync>),
    /// The leader's result cannot be handed over; every waiter runs the body itself.
    RunYourself,
    /// The leader was cancelled or panicked before finishing; waiters elect a new leader.
    Abandoned,
}

pub(super) struct Flight {
    landed: OnceLock<Landed>,
    notify: Notify,
    /// Set when an `#[invalidate]` in this process deleted the flight's key while it was
    /// loading: what it loaded may predate the write behind the invalidation, so it is
    /// not stored, and later callers start a flight of their own.
    stale: AtomicBool,
    /// The tags the load is recorded under, so a tag invalidation can make it stale.
    tags: Vec<String>,
    /// The lease the leader holds in the store, handed to a waiter that takes over if the
    /// leader is cancelled or panics, so the waiter need not wait for it to expire.
    lease: Mutex<Option<LeaseToken>>,
    /// Gives that lease back, for a leader cancelled or panicking with no waiter to take
    /// it over: other processes would otherwise wait for it to expire.
    release: Mutex<Option<DetachedRelease>>,
}

impl Flight {
    /// The abandoned leader's lease, for the one waiter that takes it.
    pub(super) fn take_lease(&self) -> Option<LeaseToken> {
        self.lease
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Whether the leader holds a lease and has not landed yet.
    pub(super) fn holds_lease(&self) -> bool {
        self.landed.get().is_none()
            && self
                .lease
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some()
    }

    /// Waits for the leader and returns what it landed.
    pub(super) async fn wait(&self) -> &Landed {
        loop {
            // Registered before the check, so a landing between the two is not missed.
            let notified = self.notify.notified();
            if let Some(landed) = self.landed.get() {
                return landed;
            }
            notified.await;
        }
    }
}

/// What a flight is for: a key in one cache (by its [`Cache::identity`]).
///
/// [`Cache::identity`]: crate::Cache::identity
type FlightKey = (Identity, String);

/// The flights of one site, by cache and key.
pub(crate) struct Flights {
    by_key: OnceLock<Mutex<HashMap<FlightKey, Arc<Flight>>>>,
}

/// The caller's role for one key.
pub(super) enum Role<'a> {
    Leader(Leader<'a>),
    Waiter(Arc<Flight>),
}

impl Flights {
    pub(super) const fn new() -> Self {
        Flights {
            by_key: OnceLock::new(),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<FlightKey, Arc<Flight>>> {
        self.by_key
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How many callers wait on the flight for `key`.
    #[cfg(test)]
    pub(super) fn waiters(&self, cache: Identity, key: &str) -> usize {
        // One reference is the map's, one the leader's; the rest are waiters'.
        self.map()
            .get(&(cache, key.to_owned()))
            .map_or(0, |flight| Arc::strong_count(flight) - 2)
    }

    /// Joins the flight for `key` in the cache of identity `cache`, or starts one (recorded
    /// under `tags`) and leads it.
    pub(super) fn join(&self, cache: Identity, key: &str, tags: &[String]) -> Role<'_> {
        let key = (cache, key.to_owned());
        let mut map = self.map();
        if let Some(flight) = map.get(&key) {
            return Role::Waiter(Arc::clone(flight));
        }
        let flight = Arc::new(Flight {
            landed: OnceLock::new(),
            notify: Notify::new(),
            stale: AtomicBool::new(false),
            tags: tags.to_vec(),
            lease: Mutex::new(None),
            release: Mutex::new(None),
        });
        map.insert(key.clone(), Arc::clone(&flight));
        Role::Leader(Leader {
            flights: self,
            key,
            flight,
        })
    }

    /// Marks `flight` (for `key` in the cache of identity `cache`) stale and forgets it: a
    /// caller found its lease gone from the store, so an invalidation made elsewhere has
    /// overtaken it.
    pub(super) fn forget_stale(&self, cache: Identity, key: &str, flight: &Arc<Flight>) {
        flight.stale.store(true, Ordering::Release);
        let mut map = self.map();
        let key = (cache, key.to_owned());
        if map
            .get(&key)
            .is_some_and(|current| Arc::ptr_eq(current, flight))
        {
            map.remove(&key);
        }
    }

    /// Marks the flights of the cache of identity `cache` whose keys or tags `invalidated`
    /// matches as stale, and forgets them, so that callers from now on load afresh.
    pub(super) fn invalidate(
        &self,
        cache: Identity,
        invalidated: impl Fn(&str, &[String]) -> bool,
    ) {
        let Some(by_key) = self.by_key.get() else {
            return;
        };
        by_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(identity, key), flight| {
                let hit = *identity == cache && invalidated(key, &flight.tags);
                if hit {
                    flight.stale.store(true, Ordering::Release);
                }
                !hit
            });
    }
}

/// The leader's handle. Landing releases the waiters at once; dropping it (after the
/// leader's write, or on cancellation or panic) removes the flight, so that the next miss
/// starts afresh.
pub(super) struct Leader<'a> {
    flights: &'a Flights,
    key: FlightKey,
    flight: Arc<Flight>,
}

impl Leader<'_> {
    /// Hands `landed` to the waiters. The flight stays joinable until the leader is
    /// dropped, so a caller arriving meanwhile gets the result at once.
    pub(super) fn land(&self, landed: Landed) {
        // Only the first landing counts; the leader lands once.
        let _ = self.flight.landed.set(landed);
        self.flight.notify.notify_waiters();
    }

    /// Keeps the lease the load holds, for a waiter to take over with it, and `release`
    /// to give it back if the leader goes away with nobody to take over.
    pub(super) fn hold(&self, token: &LeaseToken, release: Option<DetachedRelease>) {
        *self
            .flight
            .lease
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
        *self
            .flight
            .release
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = release;
    }

    /// Whether an invalidation overtook this load.
    pub(super) fn is_stale(&self) -> bool {
        self.flight.stale.load(Ordering::Acquire)
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        let abandoned = self.flight.landed.set(Landed::Abandoned).is_ok();
        {
            let mut map = self.flights.map();
            if map
                .get(&self.key)
                .is_some_and(|current| Arc::ptr_eq(current, &self.flight))
            {
                map.remove(&self.key);
            }
        }
        // Only the leader's own reference is left: no waiter will take the lease over.
        if abandoned && Arc::strong_count(&self.flight) == 1 {
            let release = self
                .flight
                .release
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let (Some(release), Ok(runtime)) = (release, tokio::runtime::Handle::try_current()) {
                runtime.spawn(async move {
                    let _ = release.await;
                });
            }
        }
        self.flight.notify.notify_waiters();
    }
}
