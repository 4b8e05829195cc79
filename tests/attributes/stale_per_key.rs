//! Issue 10, defect 9 (staleness is per key), in process: a `#[cached]` load that runs
//! outside any flight still stores its value when an unrelated key is invalidated
//! meanwhile, on both backends.
//!
//! A load runs outside a flight when the leader's result cannot be handed over: here the
//! leader returns an `Err` that is not `Clone` (`Box<dyn Error>`), so its waiter loads for
//! itself. Today such a load watches a process-wide count of invalidations and gives up its
//! write if any `#[invalidate]` ran anywhere meanwhile, whatever its key.
//!
//! (The Redis half, one slow `#[cache_put]` switching caching off, is in
//! `tests/faults/slow_put.rs`.)

use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio::sync::Notify;

use crate::support::backend::Backend;
use crate::support::matrix::by_backend;
use crate::support::wait::{bounded, eventually};

const LIMIT: Duration = Duration::from_secs(10);

/// What the bodies do: the first call (the leader) is held, gives its lease up and fails;
/// the second (its waiter, loading for itself) is held and succeeds.
#[derive(Default)]
pub struct Script {
    calls: AtomicUsize,
    leader_entered: Notify,
    leader_release: Notify,
    alone_entered: Notify,
    alone_release: Notify,
}

/// One copy of the functions per backend: statistics are per function and process, and the
/// two backends' cases run at once, so each counts its own waiters.
macro_rules! case {
    ($module:ident) => {
        mod $module {
            use std::error::Error;
            use std::sync::Arc;
            use std::sync::atomic::Ordering;

            use cache_aside::prelude::*;
            use cache_aside::{SharedCache, cached, invalidate, stats_for};

            use super::{Backend, LIMIT, Script, bounded, eventually};

            #[cached(key = "{ns}:alone", ttl = 600, lease = "3s", cache = cache)]
            async fn load(
                cache: &SharedCache,
                ns: &str,
                script: &Script,
            ) -> Result<u32, Box<dyn Error + Send + Sync>> {
                if script.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    script.leader_entered.notify_one();
                    script.leader_release.notified().await;
                    // The leader's lease goes with the key (as an expiry or an invalidation
                    // by a plain delete elsewhere would take it), so that the waiter's own
                    // load can take the key's lease.
                    cache.delete(&format!("{ns}:alone")).await?;
                    return Err("the database is down".into());
                }
                script.alone_entered.notify_one();
                script.alone_release.notified().await;
                Ok(5)
            }

            #[invalidate(key = "{ns}:unrelated", cache = cache)]
            async fn touch_unrelated(cache: &SharedCache, ns: &str) {}

            fn misses() -> u64 {
                stats_for(concat!(module_path!(), "::load")).map_or(0, |stats| stats.misses)
            }

            pub async fn a_load_outside_a_flight_is_stored_despite_an_unrelated_invalidation(
                b: Backend,
            ) {
                let script = Arc::new(Script::default());
                let before = misses();
                let leader = tokio::spawn({
                    let (cache, ns, script) = (b.cache.clone(), b.ns.clone(), Arc::clone(&script));
                    async move { load(&cache, &ns, &script).await.map_err(|e| e.to_string()) }
                });
                bounded(
                    LIMIT,
                    "the leader loading",
                    script.leader_entered.notified(),
                )
                .await;
                let waiter = tokio::spawn({
                    let (cache, ns, script) = (b.cache.clone(), b.ns.clone(), Arc::clone(&script));
                    async move { load(&cache, &ns, &script).await.map_err(|e| e.to_string()) }
                });
                // The waiter is in place once it has counted its miss (the leader counted one):
                // a waiter counts its miss as it joins the flight. The functions are this
                // backend's own, so the count is exact.
                eventually(LIMIT, "the waiter joining the flight", || async {
                    misses() >= before + 2
                })
                .await;

                // The leader fails; its error cannot be handed over, so the waiter loads alone.
                script.leader_release.notify_one();
                let failed = bounded(LIMIT, "the leader", leader)
                    .await
                    .expect("the leader");
                assert_eq!(failed, Err("the database is down".to_owned()));
                bounded(
                    LIMIT,
                    "the waiter loading alone",
                    script.alone_entered.notified(),
                )
                .await;

                // An invalidation of another key, during that load.
                touch_unrelated(&b.cache, &b.ns).await;
                script.alone_release.notify_one();
                let value = bounded(LIMIT, "the waiter", waiter)
                    .await
                    .expect("the waiter");
                assert_eq!(value, Ok(5));

                let key = b.key("alone");
                let stored = b.stored(&key).await;
                println!("{key}: after an unrelated invalidation, the load alone left {stored:?}");
                assert_eq!(
                    stored.as_deref(),
                    Some("5"),
                    "a load outside any flight was not stored because an unrelated key was \
                     invalidated during it"
                );
            }
        }
    };
}

case!(memory);
case!(redis);
case!(redis_tiered);
case!(cluster);
case!(cluster_tiered);

by_backend!(a_load_outside_a_flight_is_stored_despite_an_unrelated_invalidation);
