//! The runtime a Redis cache owns: one thread running a current-thread Tokio runtime, for
//! the work that must outlive the caller's runtime (the recovery task, leases given back
//! from a `Drop`, and the connection when it was opened outside any runtime or by that
//! work).
//!
//! Calls run on the caller's runtime and hand their command to the connection's driver
//! through a channel, which works across runtimes. The driver runs where the connection was
//! opened: on the caller's runtime as a rule, so that a hit needs no wake-up across threads;
//! when that runtime ends, the socket goes with it and the next call opens another. So a
//! cache in a `static` keeps working, and recovering, when the runtime that first used it
//! ends (a `#[tokio::test]` per test).
//!
//! Started on first use (building a cache starts no thread) and stopped when the last
//! handle to the cache is dropped: the runtime, and with it every task still on it, is
//! dropped on its own thread.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tracing::instrument::WithSubscriber;

/// The thread's name, as `ps` and debuggers show it.
const THREAD_NAME: &str = "cache-aside-redis";

/// A started runtime; dropping it stops the thread.
pub(super) struct Background {
    handle: Handle,
    /// Dropped (or fired) to stop the thread.
    _stop: oneshot::Sender<()>,
}

impl Background {
    /// Starts the thread; `None` if the system refuses a thread or a runtime.
    fn start() -> Option<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name(THREAD_NAME)
            .build()
            .map_err(|error| {
                tracing::warn!(target: "cache_aside", %error, "cannot build the Redis cache's runtime");
            })
            .ok()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || {
                // Returns when the sender is dropped; the runtime is dropped here, on its own
                // thread, with every task still on it.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(|error| {
                tracing::warn!(target: "cache_aside", %error, "cannot start the Redis cache's thread");
            })
            .ok()?;
        Some(Self {
            handle,
            _stop: stop,
        })
    }

    pub(super) fn handle(&self) -> &Handle {
        &self.handle
    }
}

/// A [`Background`] started on first use.
#[derive(Default)]
pub(super) struct Lazy(OnceLock<Option<Background>>);

impl Lazy {
    /// The runtime's handle; the caller's own runtime if the thread could not be started,
    /// `None` outside any runtime then.
    pub(super) fn handle(&self) -> Option<Handle> {
        match self.0.get_or_init(Background::start) {
            Some(background) => Some(background.handle().clone()),
            None => Handle::try_current().ok(),
        }
    }

    /// Runs `future` on the runtime, detached, logging to the caller's subscriber (a test's
    /// `set_default` one, say). Returns whether it was spawned.
    pub(super) fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) -> bool {
        match self.handle() {
            Some(handle) => {
                drop(handle.spawn(future.with_current_subscriber()));
                true
            }
            None => false,
        }
    }

    /// Whether the thread has been started.
    #[cfg(test)]
    pub(super) fn started(&self) -> bool {
        matches!(self.0.get(), Some(Some(_)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;

    /// Waits (bounded) until `done`.
    fn within(limit: Duration, what: &str, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < limit, "{what} within {limit:?}");
            std::thread::yield_now();
        }
    }

    #[test]
    fn starts_on_first_use_runs_tasks_and_stops_when_dropped() {
        let lazy = Lazy::default();
        assert!(!lazy.started(), "no thread before first use");
        let (ran, on_thread) = std::sync::mpsc::channel();
        assert!(lazy.spawn(async move {
            let _ = ran.send(std::thread::current().name().map(str::to_owned));
        }));
        let name = on_thread.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(name.as_deref(), Some(THREAD_NAME));

        // A task that never ends holds a sentinel: it is dropped with the runtime.
        let sentinel = Arc::new(());
        let held = sentinel.clone();
        lazy.spawn(async move {
            let _held = held;
            std::future::pending::<()>().await;
        });
        within(Duration::from_secs(10), "the task starts", || {
            Arc::strong_count(&sentinel) == 2
        });
        drop(lazy);
        within(Duration::from_secs(10), "dropping ends the runtime", || {
            Arc::strong_count(&sentinel) == 1
        });
    }
}
