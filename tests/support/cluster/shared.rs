//! One cluster for a whole test binary, one test case at a time.

use std::ops::Deref;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::RedisCluster;
use super::migration::setslot;
use super::view::View;

/// How long a test may wait for the others to release the shared cluster.
const LEASE_TIMEOUT: Duration = Duration::from_secs(300);

static SHARED: OnceLock<Shared> = OnceLock::new();

struct Shared {
    cluster: RedisCluster,
    /// Whether a lease is out.
    leased: Mutex<bool>,
    released: Condvar,
}

/// Exclusive use of the binary's shared cluster, until dropped.
///
/// Dereferences to the [`RedisCluster`]. `Send`, so it may be held across
/// awaits on any runtime; it holds no lock, so a panicking holder releases
/// it too.
pub struct ClusterLease {
    shared: &'static Shared,
}

impl RedisCluster {
    /// The test binary's one shared cluster (started by the first call), for
    /// this test case alone until the lease is dropped.
    ///
    /// Waits for the case holding it, then makes it whole again (thaws
    /// frozen nodes, restarts killed ones, clears half-done migrations, waits
    /// until healthy) and empties it (FLUSHALL). Roles and slot owners are
    /// left as the last case left them; so is any `CONFIG SET`.
    ///
    /// Do not take a second lease while holding one: it waits for the first
    /// (for 5 minutes, then panics).
    pub fn shared() -> ClusterLease {
        let shared = SHARED.get_or_init(|| {
            let cluster = RedisCluster::start();
            // The statics are never dropped; the nodes die with the binary
            // anyway (PDEATHSIG), this also removes their directories.
            register_cleanup();
            Shared {
                cluster,
                leased: Mutex::new(false),
                released: Condvar::new(),
            }
        });
        let deadline = Instant::now() + LEASE_TIMEOUT;
        let mut leased = lock(&shared.leased);
        while *leased {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "waited {LEASE_TIMEOUT:?} for the shared cluster: another test case holds it"
            );
            leased = shared
                .released
                .wait_timeout(leased, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        *leased = true;
        drop(leased);
        // From here on the lease's Drop releases it, even if repairing panics.
        let lease = ClusterLease { shared };
        lease.repair();
        lease.flush_all();
        lease
    }
}

impl ClusterLease {
    fn repair(&self) {
        let cluster = &self.shared.cluster;
        for node in cluster.nodes() {
            if !node.is_running() {
                node.restart();
            } else if node.is_frozen() {
                node.thaw();
            }
        }
        for node in cluster.nodes() {
            let Ok(view) = node.probe().and_then(|mut con| View::ask(&mut con)) else {
                continue; // wait_until_healthy says what is wrong with it
            };
            for (slot, _, _) in view.myself().map_or(&[][..], |myself| &myself.migrations) {
                setslot(node, *slot, "STABLE", None);
            }
        }
        cluster.wait_until_healthy();
    }
}

impl Deref for ClusterLease {
    type Target = RedisCluster;

    fn deref(&self) -> &RedisCluster {
        &self.shared.cluster
    }
}

impl Drop for ClusterLease {
    fn drop(&mut self) {
        *lock(&self.shared.leased) = false;
        self.shared.released.notify_one();
    }
}

#[allow(unsafe_code)] // atexit(3) through libc
fn register_cleanup() {
    // SAFETY: atexit only stores the function pointer; `cleanup` never
    // unwinds (it ignores every failure).
    let _ = unsafe { libc::atexit(cleanup) };
}

/// Runs at the binary's exit: kills the shared cluster's nodes and removes
/// their directories.
extern "C" fn cleanup() {
    if let Some(shared) = SHARED.get() {
        for node in shared.cluster.nodes() {
            node.kill_at_exit();
        }
    }
}

fn lock(mutex: &Mutex<bool>) -> MutexGuard<'_, bool> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
