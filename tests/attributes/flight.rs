//! In-process single flight: concurrent misses on one key run the body once.
//!
//! Every backend has its own copy of the annotated functions (`flight_cases!`), so that the
//! per-function counters these tests wait on (`stats_for`) are not bumped by the other
//! backend's copy of the test, which runs at the same time. A body whose result is shared
//! with its waiters (an `Err`, a `None`) does not sleep to let them join: it waits, bounded,
//! until every caller has counted its miss, which a waiter does as it joins the flight (see
//! `Loader::all_callers_joined`).

use std::time::Duration;

use crate::support::backend::Backend;
use crate::support::matrix::by_backend;
use crate::support::wait::{bounded, eventually};

/// Callers per test.
const CALLERS: usize = 100;
/// How long the slow body takes: it widens the window in which callers pile up; the
/// assertions do not depend on it (the bodies whose results are shared wait for their
/// callers instead).
const SLOW: Duration = Duration::from_millis(80);
/// The bound on a whole crowd of calls, and on a body's wait for its callers.
const LIMIT: Duration = Duration::from_secs(10);

/// The functions under test and the cases, once per backend (see the module's docs).
macro_rules! flight_cases {
    ($backend:ident) => {
        pub mod $backend {
            use std::future::Future;
            use std::sync::Arc;
            use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
            use std::time::Duration;

            use cache_aside::{SharedCache, cached, invalidate};
            use tokio::sync::{Barrier, Notify};

            use super::{Backend, CALLERS, LIMIT, SLOW, bounded, eventually};

            pub struct Loader {
                cache: SharedCache,
                ns: String,
                calls: AtomicUsize,
                barrier: Barrier,
                entered: Notify,
                release: Notify,
                /// The miss count of the function under test at which every caller has joined.
                joined_at: AtomicU64,
            }

            impl Loader {
                fn new(b: &Backend) -> Arc<Self> {
                    Arc::new(Loader {
                        cache: b.cache.clone(),
                        ns: b.ns.clone(),
                        calls: AtomicUsize::new(0),
                        barrier: Barrier::new(2),
                        entered: Notify::new(),
                        release: Notify::new(),
                        joined_at: AtomicU64::new(0),
                    })
                }

                fn calls(&self) -> usize {
                    self.calls.load(Ordering::SeqCst)
                }

                /// The next `callers` calls of `method` make up one crowd: its body waits for them.
                fn expect_callers(&self, method: &str, callers: usize) {
                    let callers = u64::try_from(callers).expect("a small crowd");
                    self.joined_at
                        .store(misses(method) + callers, Ordering::SeqCst);
                }

                /// Waits, bounded, until every caller expected by [`Loader::expect_callers`] has
                /// counted its miss on `method`. The leader counts its miss before its body; a
                /// waiter counts its own as it joins the leader's flight (in
                /// `cache-runtime/src/attribute/miss.rs`, on entering `Wait`), just before its
                /// round trip to the store to check the flight's lease, and a leader whose result
                /// is not stored leaves giving its lease back to the checks still running. So once
                /// the count is reached every caller is in this flight: it gets this body's
                /// result, or loads alone when the result cannot be handed over.
                async fn all_callers_joined(&self, method: &str) {
                    let target = self.joined_at.load(Ordering::SeqCst);
                    eventually(LIMIT, "every caller joining the flight", || async move {
                        misses(method) >= target
                    })
                    .await;
                }

                #[cached(key = "{self.ns}:slow:{id}", cache = self.cache)]
                async fn slow(&self, id: u32) -> Vec<u32> {
                    self.calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(SLOW).await;
                    vec![id, id + 1, id + 2]
                }

                #[cached(key = "{self.ns}:fast:{id}", cache = self.cache)]
                async fn fast(&self, id: u32) -> String {
                    self.calls.fetch_add(1, Ordering::SeqCst);
                    format!("value {id}")
                }

                #[cached(key = "{self.ns}:err:{id}", cache = self.cache)]
                async fn failing(&self, id: u32) -> Result<u32, String> {
                    let run = self.calls.fetch_add(1, Ordering::SeqCst);
                    self.all_callers_joined("failing").await;
                    Err(format!("backend down for {id} (run {run})"))
                }

                /// `io::Error` is not `Clone`, so it cannot be handed to waiters.
                #[cached(key = "{self.ns}:io:{id}", cache = self.cache)]
                async fn failing_io(&self, id: u32) -> std::io::Result<u32> {
                    self.calls.fetch_add(1, Ordering::SeqCst);
                    self.all_callers_joined("failing_io").await;
                    Err(std::io::Error::other(format!("down for {id}")))
                }

                #[cached(key = "{self.ns}:none:{id}", cache = self.cache)]
                async fn missing(&self, id: u32) -> Option<u32> {
                    self.calls.fetch_add(1, Ordering::SeqCst);
                    self.all_callers_joined("missing").await;
                    (id == u32::MAX).then_some(id)
                }

                /// Finishes only once another call is in its body too.
                #[cached(key = "{self.ns}:meet:{id}", cache = self.cache)]
                async fn meet(&self, id: u32) -> u32 {
                    self.barrier.wait().await;
                    id
                }

                /// The first run signals `entered` and then never finishes; later runs return at
                /// once.
                #[cached(key = "{self.ns}:stuck:{id}", cache = self.cache)]
                async fn stuck_first(&self, id: u32) -> u32 {
                    if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        self.entered.notify_one();
                        std::future::pending::<()>().await;
                    }
                    id + 1
                }

                /// The first run signals `entered`, waits for `release`, then panics.
                #[cached(key = "{self.ns}:panics:{id}", cache = self.cache)]
                async fn panics_first(&self, id: u32) -> u32 {
                    if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        self.entered.notify_one();
                        self.release.notified().await;
                        panic!("the leader panics (expected by the test)");
                    }
                    id + 1
                }
            }

            /// Runs `call` in `count` spawned tasks at once and returns what each got.
            async fn crowd<T, F, Fut>(loader: &Arc<Loader>, count: usize, call: F) -> Vec<T>
            where
                T: Send + 'static,
                F: Fn(Arc<Loader>) -> Fut,
                Fut: Future<Output = T> + Send + 'static,
            {
                let tasks: Vec<_> = (0..count)
                    .map(|_| tokio::spawn(call(Arc::clone(loader))))
                    .collect();
                bounded(LIMIT, "the crowd of callers", async {
                    let mut results = Vec::with_capacity(count);
                    for task in tasks {
                        results.push(task.await.expect("a caller panicked"));
                    }
                    results
                })
                .await
            }

            pub async fn concurrent_callers_run_a_slow_body_once(b: Backend) {
                let loader = Loader::new(&b);
                let results = crowd(&loader, CALLERS, |l| async move { l.slow(1).await }).await;
                assert_eq!(results.len(), CALLERS);
                assert!(
                    results.iter().all(|value| *value == [1, 2, 3]),
                    "{results:?}"
                );
                assert_eq!(loader.calls(), 1, "the body ran once for {CALLERS} callers");
                assert_eq!(b.stored(&b.key("slow:1")).await.as_deref(), Some("[1,2,3]"));
            }

            pub async fn concurrent_callers_run_an_instant_body_once(b: Backend) {
                let loader = Loader::new(&b);
                let results = crowd(&loader, CALLERS, |l| async move { l.fast(5).await }).await;
                assert!(
                    results.iter().all(|value| value == "value 5"),
                    "{results:?}"
                );
                // Even without a delay in the body, a caller that missed before the value was
                // stored either waits for the load in flight or, joining after it landed, reads it
                // again.
                assert_eq!(loader.calls(), 1, "the body ran once for {CALLERS} callers");
            }

            pub async fn an_err_is_shared_with_waiters_and_not_stored(b: Backend) {
                let loader = Loader::new(&b);
                loader.expect_callers("failing", CALLERS);
                let results = crowd(&loader, CALLERS, |l| async move { l.failing(3).await }).await;
                assert_eq!(
                    loader.calls(),
                    1,
                    "the body ran once; its Err went to every waiter"
                );
                for result in &results {
                    assert_eq!(result, &Err("backend down for 3 (run 0)".to_owned()));
                }
                assert_eq!(
                    b.stored(&b.key("err:3")).await,
                    None,
                    "an Err is never stored"
                );
                // Shared, not cached: the next call runs the body again.
                loader.expect_callers("failing", 1);
                assert_eq!(
                    loader.failing(3).await,
                    Err("backend down for 3 (run 1)".to_owned())
                );
            }

            pub async fn an_err_that_is_not_clone_makes_each_waiter_load(b: Backend) {
                let loader = Loader::new(&b);
                loader.expect_callers("failing_io", CALLERS);
                let results = crowd(&loader, CALLERS, |l| async move {
                    l.failing_io(4).await.map_err(|error| error.to_string())
                })
                .await;
                assert!(
                    results
                        .iter()
                        .all(|r| r.as_ref() == Err(&"down for 4".to_owned())),
                    "{results:?}"
                );
                assert_eq!(
                    loader.calls(),
                    CALLERS,
                    "an Err that cannot be cloned is not shared: every caller runs the body"
                );
                assert_eq!(b.stored(&b.key("io:4")).await, None);
            }

            pub async fn a_none_is_shared_with_waiters_and_not_stored(b: Backend) {
                let loader = Loader::new(&b);
                loader.expect_callers("missing", CALLERS);
                let results = crowd(&loader, CALLERS, |l| async move { l.missing(6).await }).await;
                assert!(results.iter().all(Option::is_none), "{results:?}");
                assert_eq!(
                    loader.calls(),
                    1,
                    "the body ran once; its None went to every waiter"
                );
                assert_eq!(b.stored(&b.key("none:6")).await, None);
            }

            pub async fn different_keys_do_not_wait_for_each_other(b: Backend) {
                let loader = Loader::new(&b);
                // Each body waits at a barrier for the other: if one key's load waited for the
                // other's, neither would finish.
                let (one, two) = bounded(
                    Duration::from_secs(5),
                    "two loads of different keys",
                    async { tokio::join!(loader.meet(1), loader.meet(2)) },
                )
                .await;
                assert_eq!((one, two), (1, 2));
                assert_eq!(b.stored(&b.key("meet:1")).await.as_deref(), Some("1"));
                assert_eq!(b.stored(&b.key("meet:2")).await.as_deref(), Some("2"));
            }

            /// Misses counted so far by this backend's `Loader::{method}`.
            fn misses(method: &str) -> u64 {
                cache_aside::stats_for(&format!("{}::{method}", module_path!()))
                    .map_or(0, |s| s.misses)
            }

            /// Waits until `count` more callers than `before` missed, i.e. have joined the flight.
            async fn waiters_in_place(method: &str, before: u64, count: u64) {
                eventually(
                    Duration::from_secs(2),
                    "the waiters missing",
                    || async move { misses(method) >= before + count },
                )
                .await;
            }

            type Calls = (
                tokio::task::JoinHandle<u32>,
                Vec<tokio::task::JoinHandle<u32>>,
            );

            /// Starts a leader calling `method`, waits until it is in its body, then starts ten
            /// waiters and waits until they all missed; returns the leader's and the waiters'
            /// tasks.
            async fn leader_and_waiters<F, Fut>(
                loader: &Arc<Loader>,
                method: &str,
                call: F,
            ) -> Calls
            where
                F: Fn(Arc<Loader>) -> Fut,
                Fut: std::future::Future<Output = u32> + Send + 'static,
            {
                let before = misses(method);
                let leader = tokio::spawn(call(Arc::clone(loader)));
                bounded(
                    Duration::from_secs(2),
                    "the leader entering its body",
                    loader.entered.notified(),
                )
                .await;
                let waiters = (0..10)
                    .map(|_| tokio::spawn(call(Arc::clone(loader))))
                    .collect();
                waiters_in_place(method, before, 11).await;
                (leader, waiters)
            }

            pub async fn a_cancelled_leader_is_replaced_by_a_waiter(b: Backend) {
                let loader = Loader::new(&b);
                let (leader, waiters) =
                    leader_and_waiters(&loader, "stuck_first", |loader| async move {
                        loader.stuck_first(9).await
                    })
                    .await;

                leader.abort();
                assert!(leader.await.unwrap_err().is_cancelled());
                for waiter in waiters {
                    let value = bounded(Duration::from_secs(5), "a waiter", waiter).await;
                    assert_eq!(value.expect("a waiter panicked"), 10);
                }
                assert_eq!(loader.calls(), 2, "one waiter took over and loaded once");
                assert_eq!(b.stored(&b.key("stuck:9")).await.as_deref(), Some("10"));
            }

            pub async fn a_panicking_leader_is_replaced_by_a_waiter(b: Backend) {
                let loader = Loader::new(&b);
                let (leader, waiters) =
                    leader_and_waiters(&loader, "panics_first", |loader| async move {
                        loader.panics_first(2).await
                    })
                    .await;

                loader.release.notify_one();
                let error = bounded(Duration::from_secs(5), "the leader", leader)
                    .await
                    .unwrap_err();
                assert!(error.is_panic());
                for waiter in waiters {
                    let value = bounded(Duration::from_secs(5), "a waiter", waiter).await;
                    assert_eq!(value.expect("a waiter panicked"), 3);
                }
                assert_eq!(loader.calls(), 2, "one waiter took over and loaded once");
            }

            /// A record whose reads are cached and whose writes invalidate them.
            pub struct Record {
                cache: SharedCache,
                ns: String,
                value: std::sync::Mutex<&'static str>,
                reads: AtomicUsize,
                entered: Notify,
                release: Notify,
            }

            impl Record {
                /// The first read takes the value, then waits for `release` before returning it.
                #[cached(key = "{self.ns}:record", cache = self.cache)]
                async fn read(&self) -> String {
                    let value = self.value.lock().unwrap().to_owned();
                    if self.reads.fetch_add(1, Ordering::SeqCst) == 0 {
                        self.entered.notify_one();
                        self.release.notified().await;
                    }
                    value
                }

                #[invalidate(key = "{self.ns}:record", cache = self.cache)]
                async fn write(&self, value: &'static str) {
                    *self.value.lock().unwrap() = value;
                }
            }

            /// A read that started before a write and its invalidation finished must neither be
            /// joined by reads after the write nor store its old value.
            pub async fn an_invalidation_overtaking_a_load_is_not_undone_by_it(b: Backend) {
                let record = Arc::new(Record {
                    cache: b.cache.clone(),
                    ns: b.ns.clone(),
                    value: std::sync::Mutex::new("old"),
                    reads: AtomicUsize::new(0),
                    entered: Notify::new(),
                    release: Notify::new(),
                });
                let early = tokio::spawn({
                    let record = Arc::clone(&record);
                    async move { record.read().await }
                });
                bounded(
                    Duration::from_secs(2),
                    "the early read loading",
                    record.entered.notified(),
                )
                .await;

                record.write("new").await;
                let after = bounded(
                    Duration::from_secs(5),
                    "a read after the write",
                    record.read(),
                )
                .await;
                assert_eq!(
                    after, "new",
                    "a read after the write does not join the older load"
                );

                record.release.notify_one();
                let early = bounded(Duration::from_secs(5), "the early read", early).await;
                assert_eq!(early.unwrap(), "old", "the early read overlapped the write");
                assert_eq!(
                    b.stored(&b.key("record")).await.as_deref(),
                    Some(r#""new""#),
                    "the older load did not overwrite the newer value"
                );
            }
        }
    };
}

flight_cases!(memory);
flight_cases!(redis);
flight_cases!(redis_tiered);
flight_cases!(cluster);
flight_cases!(cluster_tiered);

by_backend!(
    concurrent_callers_run_a_slow_body_once,
    concurrent_callers_run_an_instant_body_once,
    an_err_is_shared_with_waiters_and_not_stored,
    an_err_that_is_not_clone_makes_each_waiter_load,
    a_none_is_shared_with_waiters_and_not_stored,
    different_keys_do_not_wait_for_each_other,
    a_cancelled_leader_is_replaced_by_a_waiter,
    a_panicking_leader_is_replaced_by_a_waiter,
    an_invalidation_overtaking_a_load_is_not_undone_by_it,
);
