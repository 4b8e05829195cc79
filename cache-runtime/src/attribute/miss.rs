//! The whole protocol of a `#[cached]` miss, as one state machine.
//!
//! ```text
//!            ┌──────────── stale: the store holds another lease, or none ───────────┐
//!            v                                                                      │
//!   miss -> Join ──(a flight of this function is loading the key)──> Wait ──(check)─┤
//!            │                                          │   ^  abandoned            │
//!            │ (no flight: start one)                   │   └───────────────────────┘
//!            v                                          │ (an outcome it cannot use,
//!          Lead: take the lease (or wait for another    │  or its cache fails while the
//!                process's load), load, publish, store  v  leader still talks to it)
//!                                                     Alone: load, store under a lease
//!                                                            taken without waiting
//! ```
//! - **Join** finds the flight of this function on this key in this store, or starts one.
//! - **Wait** first checks, in the store, that the flight is current: its lease's marker is
//!   still at the key. An invalidation in any process removes the marker, so a call that
//!   starts after an invalidation has returned never joins a load that began before it.
//!   Then it waits for the leader's outcome.
//! - **Lead** takes the key's lease ([`acquire`]): a value already there is served; another
//!   process's lease is waited for by polling, up to the lease's length; a value that does
//!   not decode (corrupt, another type after a deploy, another Redis type) is deleted and
//!   the lease taken like any miss. Then it runs the body, publishes the result to its
//!   waiters, and stores it as its [`Permit`] allows.
//! - **Alone** loads for itself: a waiter whose leader's result it cannot use.
//!
//! Every load is in the table of `flights.rs`, so invalidations in this process mark it
//! stale; every lease is a [`Held`] value, whose `Drop` gives it back: cancellation at any
//! await, and panics, leave no lease behind.
//!
//! Fail open: once the cache fails (a timeout, an unreachable server), the call sends it
//! nothing more, and it waits for no leader that is still talking to the cache: a call
//! waits about one `op_timeout` for the cache at most.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fail_open::{CountOnce, FailOpen};
use super::flights::{self, Flight, Outcome, Registration, Role};
use super::options::{MissOptions, StoreTtl};
use super::permit::{Checking, Held, Permit};
use super::shape::ReturnKind;
use super::site::Site;
use crate::lease::{Lease, Leases};
use crate::port::Cache;

/// The first pause between two polls of a key that another process is loading.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause between two polls: waiters see a value at most this late.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// Where a miss stands before it loads.
enum State<'a> {
    /// Find this function's flight on the key, or start one. `stale` is a flight found out of
    /// date, closed to joiners first; `first` is what the store answered to the caller's own
    /// lease attempt while checking it.
    Join {
        stale: Option<Arc<Flight>>,
        held: Option<Held<'a>>,
        first: Option<Lease>,
    },
    /// Check that the flight is current, then wait for its outcome.
    Wait {
        flight: Arc<Flight>,
        held: Option<Held<'a>>,
    },
}

/// How a miss loads, once it knows.
enum Load<'a> {
    /// For the flight it started.
    Lead {
        flight: Registration,
        held: Option<Held<'a>>,
        first: Option<Lease>,
    },
    /// For itself.
    Alone { held: Option<Held<'a>> },
}

/// `#[cached]` after a miss (or a value that did not decode).
#[allow(clippy::too_many_arguments)] // one call's state, passed down once
pub(super) async fn miss<C, R, V, F, T>(
    site: &'static Site,
    cache: &C,
    key: String,
    options: MissOptions<T>,
    kind: ReturnKind<R, V>,
    body: F,
    fail: &mut FailOpen,
) -> R
where
    C: Cache,
    F: Future<Output = R>,
    T: StoreTtl<V>,
{
    let store = cache.store_id();
    let leases = cache.leases();
    let tags = options.tag_refs();
    let decode = |raw: &str| kind.decode(&key, raw).ok();
    let mut count = CountOnce::default();
    let mut state = State::Join {
        stale: None,
        held: lease_token(leases, fail, &key, &options),
        first: None,
    };
    let load = loop {
        state = match state {
            State::Join { stale, held, first } => {
                let token = held.as_ref().map(Held::token);
                match flights::join(site, store, &key, &options.tags, token, stale.as_deref()) {
                    Role::Leader(flight) => {
                        break Load::Lead {
                            flight,
                            held,
                            first,
                        };
                    }
                    // A lease this call took while checking is not needed to wait: it goes
                    // back, and a fresh token checks the flight joined.
                    Role::Waiter(flight) => State::Wait {
                        flight,
                        held: held.and_then(|_| lease_token(leases, fail, &key, &options)),
                    },
                }
            }
            State::Wait { flight, held } => {
                let held = match check(
                    site, &key, &options, &tags, fail, leases, held, &flight, &decode,
                )
                .await
                {
                    // Counted once checked, when it waits: so that a count of a function's
                    // misses tells that its callers are in place.
                    Check::Current(held) => {
                        count.count(&site.misses);
                        held
                    }
                    Check::Filled(value) => {
                        count.count(&site.misses);
                        Site::count(&site.coalesced);
                        return kind.rebuild(value);
                    }
                    Check::Stale { held, first } => {
                        state = State::Join {
                            stale: Some(flight),
                            held,
                            first,
                        };
                        continue;
                    }
                    Check::Alone => break Load::Alone { held: None },
                };
                match flight.wait().await {
                    Outcome::Value(raw) => match decode(raw) {
                        Some(value) => {
                            Site::count(&site.coalesced);
                            return kind.rebuild(value);
                        }
                        // Another instantiation of a generic function: load for itself.
                        None => break Load::Alone { held },
                    },
                    Outcome::Shared(shared) => match kind.take_shared(&**shared) {
                        Some(result) => {
                            Site::count(&site.coalesced);
                            return result;
                        }
                        None => break Load::Alone { held },
                    },
                    Outcome::NotShareable => break Load::Alone { held },
                    Outcome::Abandoned => State::Join {
                        stale: None,
                        held,
                        first: None,
                    },
                }
            }
        };
    };
    count.count(&site.misses);
    let (registration, permit) = match load {
        Load::Lead {
            flight,
            held,
            first,
        } => {
            let permit = match held {
                Some(held) => match acquire(
                    site, cache, &key, &options, &tags, fail, held, first, decode,
                )
                .await
                {
                    Acquired::Value(raw, value) => {
                        Site::count(&site.coalesced);
                        flight.publish(Outcome::Value(raw.into()));
                        return kind.rebuild(value);
                    }
                    Acquired::Load(permit) => permit,
                },
                None => unleased(leases, fail),
            };
            (flight, permit)
        }
        Load::Alone { held } => {
            let token = held.as_ref().map(Held::token);
            let registration = flights::alone(store, &key, &options.tags, token);
            let permit = match held {
                Some(held) => {
                    match lease_once(site, &key, &options, &tags, fail, held, decode).await {
                        Acquired::Value(_, value) => {
                            Site::count(&site.coalesced);
                            return kind.rebuild(value);
                        }
                        Acquired::Load(permit) => permit,
                    }
                }
                None => unleased(leases, fail),
            };
            (registration, permit)
        }
    };
    registration.loading();
    Site::count(&site.loads);
    let value = match kind.split(body.await) {
        Ok(value) => value,
        Err(uncached) => {
            let shared = kind.share(&uncached);
            registration.publish(shared.map_or(Outcome::NotShareable, Outcome::Shared));
            // Nothing is awaited while the result (which may not be `Send`) is held.
            permit.give_back(registration.flight());
            return uncached;
        }
    };
    // A `ttl = |value| ...` closure runs here; if it panics, the registration and the
    // permit go as they would after a panicking body: waiters start again, the lease goes
    // back.
    let ttl = options.ttl.of(&value);
    let encoded = kind.encode(&value, &key);
    let Some(raw) = fail.keep(site, &key, "encode", encoded) else {
        registration.publish(Outcome::NotShareable);
        permit.give_back(registration.flight());
        return kind.rebuild(value);
    };
    let raw: Arc<str> = raw.into();
    // Waiters get the value before the store, so they do not wait for it.
    registration.publish(Outcome::Value(Arc::clone(&raw)));
    permit
        .store(site, cache, &key, &raw, ttl, fail, registration.flight())
        .await;
    if fail.clean() {
        site.used_cleanly();
    }
    kind.rebuild(value)
}

/// Whether a flight is current, as [`check`] found.
enum Check<'a, V> {
    /// Wait for it (with this token for later, if the call has leases).
    Current(Option<Held<'a>>),
    /// A value is stored at the key by now.
    Filled(V),
    /// The store holds another lease or none: this call goes back to Join with what the
    /// store answered to its own lease attempt.
    Stale {
        held: Option<Held<'a>>,
        first: Option<Lease>,
    },
    /// This call's cache failed while the leader still talks to it: load alone.
    Alone,
}

/// Checks in the store that `flight` is current before waiting for it: its lease's marker is
/// still at the key. One `try_lease` with this call's own token, so that a stale flight's
/// key is leased in the same round trip.
#[allow(clippy::too_many_arguments)] // one call's state, passed down once
async fn check<'a, V, T: StoreTtl<V>>(
    site: &Site,
    key: &str,
    options: &MissOptions<T>,
    tags: &[&str],
    fail: &mut FailOpen,
    leases: Option<&dyn Leases>,
    held: Option<Held<'a>>,
    flight: &Flight,
    decode: impl Fn(&str) -> Option<V>,
) -> Check<'a, V> {
    let Some(mut held) = held else {
        // No lease to check with: a cache without leases (nothing to check), or this call's
        // cache failed, when it waits only for a leader already past the cache.
        return if leases.is_some() && !flight.is_loading() {
            Check::Alone
        } else {
            Check::Current(None)
        };
    };
    let Some(leader) = flight.token() else {
        // The leader holds no lease (its cache failed): its load cannot be checked.
        return Check::Stale {
            held: Some(held),
            first: None,
        };
    };
    held.arm();
    // Counted as checking while it waits, so that a leader done meanwhile leaves its lease
    // for the check to find.
    let checking = Checking::new(flight, held.leases(), key);
    flight.past_the_store().await;
    let lease = held.request(options.ttl.before_load(), tags).await;
    drop(checking);
    match fail.keep(site, key, "lease", lease) {
        Some(Lease::Loading(holder)) if holder == *leader => {
            held.disarm();
            Check::Current(Some(held))
        }
        Some(lease) => {
            let mine = match &lease {
                Lease::Granted => true,
                Lease::Loading(holder) => holder == held.token(),
                Lease::Filled(raw) => {
                    if let Some(value) = decode(raw) {
                        held.disarm();
                        return Check::Filled(value);
                    }
                    false
                }
                Lease::Foreign => false,
            };
            if !mine {
                held.disarm();
            }
            Check::Stale {
                held: Some(held),
                first: Some(lease),
            }
        }
        // `held` is dropped armed: the lease goes back in case it was taken.
        None if flight.is_loading() => Check::Current(None),
        None => Check::Alone,
    }
}

/// A token for this call's lease, when the cache has leases and is usable.
fn lease_token<'a, T>(
    leases: Option<&'a dyn Leases>,
    fail: &FailOpen,
    key: &'a str,
    options: &MissOptions<T>,
) -> Option<Held<'a>> {
    leases
        .filter(|_| fail.usable())
        .map(|leases| Held::new(leases, key, options.lease))
}

/// The permit of a load without a lease: a plain write for a cache without leases, none for
/// one whose lease could not be had.
fn unleased(leases: Option<&dyn Leases>, fail: &FailOpen) -> Permit<'static> {
    if leases.is_none() && fail.usable() {
        Permit::Unconditional
    } else {
        Permit::Never
    }
}

/// What taking the lease ended with.
enum Acquired<'a, V> {
    /// A value was there (or landed while waiting), decoded.
    Value(String, V),
    /// Load, then store as the permit says.
    Load(Permit<'a>),
}

/// Takes the key's lease with `held`'s token, or waits for the value of whoever holds it:
/// until a value lands, the lease is gone (then it takes it), or `options.lease` has passed
/// (then the caller loads and does not store). `first` is an answer the store already gave.
#[allow(clippy::too_many_arguments)] // one call's state, passed down once
async fn acquire<'a, C: Cache, V, T: StoreTtl<V>>(
    site: &Site,
    cache: &C,
    key: &str,
    options: &MissOptions<T>,
    tags: &[&str],
    fail: &mut FailOpen,
    mut held: Held<'a>,
    mut first: Option<Lease>,
    decode: impl Fn(&str) -> Option<V>,
) -> Acquired<'a, V> {
    let deadline = Instant::now() + options.lease;
    let mut pause = FIRST_PAUSE;
    let mut repaired = false;
    loop {
        let lease = match first.take() {
            Some(lease) => lease,
            None => {
                held.arm();
                let lease = held.request(options.ttl.before_load(), tags).await;
                match fail.keep(site, key, "lease", lease) {
                    Some(lease) => lease,
                    // `held` is dropped armed: the lease goes back in case it was taken.
                    None => return Acquired::Load(Permit::Never),
                }
            }
        };
        match lease {
            Lease::Granted => return Acquired::Load(Permit::Lease(held)),
            Lease::Loading(holder) if holder == *held.token() => {
                return Acquired::Load(Permit::Lease(held));
            }
            Lease::Filled(raw) => {
                held.disarm();
                if let Some(value) = decode(&raw) {
                    return Acquired::Value(raw, value);
                }
                // Corrupt, or another type since a deploy: deleted below, then leased.
                if !repair(site, cache, key, fail, &mut repaired).await {
                    return Acquired::Load(Permit::Never);
                }
            }
            Lease::Foreign => {
                held.disarm();
                if !repair(site, cache, key, fail, &mut repaired).await {
                    return Acquired::Load(Permit::Never);
                }
            }
            Lease::Loading(_) => {
                held.disarm();
                let now = Instant::now();
                // Waiting needs Tokio's timer; without it, load at once (and do not store).
                if now >= deadline || tokio::runtime::Handle::try_current().is_err() {
                    return Acquired::Load(Permit::Never);
                }
                tokio::time::sleep(pause.min(deadline - now)).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
    }
}

/// One attempt at the lease, for a load outside any flight: it does not wait, since the
/// callers that end up there (a leader's result could not be handed over) would only queue
/// behind each other.
async fn lease_once<'a, V, T: StoreTtl<V>>(
    site: &Site,
    key: &str,
    options: &MissOptions<T>,
    tags: &[&str],
    fail: &mut FailOpen,
    mut held: Held<'a>,
    decode: impl Fn(&str) -> Option<V>,
) -> Acquired<'a, V> {
    held.arm();
    let lease = held.request(options.ttl.before_load(), tags).await;
    match fail.keep(site, key, "lease", lease) {
        Some(Lease::Granted) => Acquired::Load(Permit::Lease(held)),
        Some(Lease::Loading(holder)) if holder == *held.token() => {
            Acquired::Load(Permit::Lease(held))
        }
        Some(lease) => {
            held.disarm();
            match lease {
                Lease::Filled(raw) => match decode(&raw) {
                    Some(value) => Acquired::Value(raw, value),
                    None => Acquired::Load(Permit::Never),
                },
                _ => Acquired::Load(Permit::Never),
            }
        }
        None => Acquired::Load(Permit::Never),
    }
}

/// Deletes a value that is not one (corrupt bytes, another type, another Redis type), once
/// per call, so that the key can be leased; whether the caller may try the lease again.
async fn repair<C: Cache>(
    site: &Site,
    cache: &C,
    key: &str,
    fail: &mut FailOpen,
    repaired: &mut bool,
) -> bool {
    if std::mem::replace(repaired, true) {
        return false;
    }
    let deleted = cache.delete(key).await;
    fail.keep(site, key, "delete of an unreadable value", deleted)
        .is_some()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::{Notify, oneshot};

    use super::*;
    use crate::attribute::cached::cached;
    use crate::attribute::options::miss_options;
    use crate::attribute::shape::{Plain, return_kind};
    use crate::memory::MemoryCache;

    async fn bounded<F: Future>(future: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(10), future)
            .await
            .expect("bounded wait")
    }

    async fn waiters(site: &'static Site, cache: &MemoryCache, count: usize) {
        bounded(async {
            while flights::waiters(site, cache.store_id(), "k") < count {
                tokio::task::yield_now().await;
            }
        })
        .await;
    }

    fn call(
        site: &'static Site,
        cache: &Arc<MemoryCache>,
        body: impl Future<Output = u32> + Send + 'static,
    ) -> tokio::task::JoinHandle<u32> {
        let cache = Arc::clone(cache);
        tokio::spawn(async move {
            let options = miss_options(None::<Duration>, None, Vec::new());
            cached(
                site,
                &*cache,
                true,
                "k".into(),
                options,
                return_kind(Plain),
                body,
            )
            .await
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiter_loads_when_the_leader_is_cancelled_and_no_lease_is_left() {
        static SITE: Site = Site::new("tests::cancelled");
        let cache = Arc::new(MemoryCache::new());
        let started = Arc::new(Notify::new());
        let (_never, blocked) = oneshot::channel::<()>();
        let leader = call(&SITE, &cache, {
            let started = Arc::clone(&started);
            async move {
                started.notify_one();
                let _ = blocked.await;
                1
            }
        });
        bounded(started.notified()).await;
        let waiter = call(&SITE, &cache, async { 2 });
        waiters(&SITE, &cache, 1).await;
        leader.abort();
        assert_eq!(bounded(waiter).await.unwrap(), 2);
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
                let (runs, release) = (Arc::clone(&runs), Arc::clone(&release));
                call(&SITE, &cache, async move {
                    if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                        release.notified().await;
                        panic!("the first body panics");
                    }
                    7
                })
            })
            .collect();
        // Every call in place, counted as a miss: most wait on the first call's flight, but
        // one that checked the flight before its leader's lease reached the store leads a
        // load of its own (the first one then waits on that lease rather than the flight),
        // so the flight's waiters alone need not reach 7.
        bounded(async {
            while SITE.misses.get() < 8 {
                tokio::task::yield_now().await;
            }
        })
        .await;
        release.notify_one();
        let mut values = Vec::new();
        for call in calls {
            if let Ok(value) = bounded(call).await {
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_invalidation_marks_only_the_loads_it_covers() {
        static SITE: Site = Site::new("tests::marked");
        let cache = MemoryCache::new();
        let store = cache.store_id();
        let tags = vec!["t".to_owned()];
        let Role::Leader(k) = flights::join(&SITE, store, "k", &tags, None, None) else {
            panic!("the first caller leads");
        };
        let Role::Leader(other) = flights::join(&SITE, store, "other", &[], None, None) else {
            panic!("another key has a flight of its own");
        };
        flights::mark_stale(store, Some("unrelated"), |_, _| true);
        assert!(!k.flight().is_stale() && !other.flight().is_stale());
        flights::mark_stale(store, None, |_, tags| tags.iter().any(|tag| tag == "t"));
        assert!(k.flight().is_stale(), "the tag covers k");
        assert!(!other.flight().is_stale(), "and nothing else");
        // A stale flight is not joined: the next caller leads a new one.
        assert!(matches!(
            flights::join(&SITE, store, "k", &tags, None, None),
            Role::Leader(_)
        ));
    }
}
