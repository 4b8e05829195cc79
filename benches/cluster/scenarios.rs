//! The scenarios, each on the single server and on the cluster, in the order the rounds
//! take them: first with one task (latency), then with `TASKS` (throughput).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use cache_aside::RedisCache;
use redis::aio::MultiplexedConnection;
use redis::cluster_async::ClusterConnection;
use tokio::runtime::Runtime;

use crate::backends::Targets;
use crate::contenders::{
    LeaseByHand, RawGet, RawSet, RoutedGet, RoutedSet, Routes, Through, UnlinkWait,
};
use crate::measure::Keys;
use crate::plan::{Plan, Side};
use crate::{HOT_USERS, TASKS};

/// redis-rs's own connections to each side.
pub struct Connections {
    pub single: MultiplexedConnection,
    pub cluster: ClusterConnection,
    pub replicated: MultiplexedConnection,
    /// The users' primaries, for `GET`s routed by hand.
    pub users: Routes,
    /// The written keys' primaries, for `SET`s routed by hand.
    pub written: Routes,
}

/// One kind of `RedisCache`, on each side.
pub struct Both {
    pub single: RedisCache,
    pub cluster: RedisCache,
}

/// The caches the attributes run on.
pub struct Caches {
    pub defaults: Both,
    pub local_tier: Both,
    pub no_coalescing: Both,
}

/// An invalidation row's keys, and how many were written for it: checked after the run.
pub struct Deletion {
    pub label: &'static str,
    pub keys: Keys,
    pub written: u64,
}

impl Deletion {
    /// A note if the row deleted more keys than were written for it (the last deleted
    /// nothing, and `WAIT` had nothing to wait for).
    pub fn overrun(&self) -> Option<String> {
        let Keys::Fresh(next) = &self.keys else {
            return None;
        };
        let reached = next.load(Ordering::Relaxed);
        (reached > self.written).then(|| {
            format!(
                "{} ran past the keys written for it: its last {} deletions deleted nothing \
                 (lower FASTEST_DELETION_MICROS).",
                self.label,
                reached - self.written
            )
        })
    }
}

/// Every scenario; the invalidation rows' keys are `0..doomed` on each side, and on the
/// cluster `doomed..2 * doomed` for the deletions by hand.
pub fn plan<'a>(
    runtime: &'a Runtime,
    targets: &'a Targets,
    connections: &Connections,
    caches: &Caches,
    doomed: u64,
) -> (Plan<'a>, Vec<Deletion>) {
    let (single, cluster, replicated) = (&targets.single, &targets.cluster, &targets.replicated);
    let hot = || Keys::Random { count: HOT_USERS };
    let fresh = || Keys::fresh_from(0);
    let deletions = vec![
        Deletion {
            label: "#[invalidate] on the server",
            keys: fresh(),
            written: doomed,
        },
        Deletion {
            label: "#[invalidate] on the cluster",
            keys: fresh(),
            written: doomed,
        },
        Deletion {
            label: "UNLINK + WAIT 1 on the replicated server",
            keys: fresh(),
            written: doomed,
        },
        Deletion {
            label: "UNLINK + WAIT 1 on the cluster",
            keys: Keys::fresh_from(doomed),
            written: 2 * doomed,
        },
    ];
    let every_id: Arc<[u64]> = (0..HOT_USERS).collect();
    let first_primarys: Arc<[u64]> = (0..HOT_USERS)
        .filter(|id| connections.written.owners[*id as usize] == 0)
        .collect();
    let (defaults, tier, lone) = (&caches.defaults, &caches.local_tier, &caches.no_coalescing);

    let mut plan = Plan::new(runtime);
    plan.pair(
        "raw redis-rs GET + serde_json (MultiplexedConnection; cluster_async::ClusterConnection)",
        1,
        Side::new(single, RawGet(connections.single.clone()), hot()),
        Side::new(cluster, RawGet(connections.cluster.clone()), hot()),
    );
    plan.pair(
        "raw GET, on the cluster routed by hand (a MultiplexedConnection per primary)",
        1,
        Side::new(single, RawGet(connections.single.clone()), hot()),
        Side::new(cluster, RoutedGet(connections.users.clone()), hot()),
    );
    plan.pair(
        "SET EX by hand (single: a server with one replica; cluster: routed by hand, every \
         primary)",
        1,
        Side::new(replicated, RawSet(connections.replicated.clone()), hot()),
        Side::new(
            cluster,
            RoutedSet {
                routes: connections.written.clone(),
                ids: every_id,
            },
            hot(),
        ),
    );
    plan.pair(
        "SET EX by hand (single: a server with one replica; cluster: routed by hand, one \
         primary's keys only)",
        1,
        Side::new(replicated, RawSet(connections.replicated.clone()), hot()),
        Side::new(
            cluster,
            RoutedSet {
                routes: connections.written.clone(),
                ids: first_primarys,
            },
            hot(),
        ),
    );
    plan.pair(
        "#[cached] hit, defaults",
        1,
        Side::new(single, Through::Hit(defaults.single.clone()), hot()),
        Side::new(cluster, Through::Hit(defaults.cluster.clone()), hot()),
    );
    plan.pair(
        "#[cached] hit, first tier on",
        1,
        Side::new(single, Through::Hit(tier.single.clone()), hot()),
        Side::new(cluster, Through::Hit(tier.cluster.clone()), hot()),
    );
    plan.pair(
        "cold miss by hand: GET, SET NX GET PX, EVALSHA (the lease protocol's floor)",
        1,
        Side::new(
            single,
            LeaseByHand::new(connections.single.clone()),
            fresh(),
        ),
        Side::new(
            cluster,
            LeaseByHand::new(connections.cluster.clone()),
            fresh(),
        ),
    );
    plan.pair(
        "#[cached] cold miss (lease, body, store)",
        1,
        Side::new(single, Through::ColdMiss(defaults.single.clone()), fresh()),
        Side::new(
            cluster,
            Through::ColdMiss(defaults.cluster.clone()),
            fresh(),
        ),
    );
    plan.pair(
        "#[invalidate] by key (on the cluster with WAIT 1)",
        1,
        Side::new(
            single,
            Through::Invalidate(defaults.single.clone()),
            deletions[0].keys.clone(),
        ),
        Side::new(
            cluster,
            Through::Invalidate(defaults.cluster.clone()),
            deletions[1].keys.clone(),
        ),
    );
    plan.pair(
        "UNLINK + WAIT 1 by hand, one pipeline (single: a server with one replica)",
        1,
        Side::new(
            replicated,
            UnlinkWait(connections.replicated.clone()),
            deletions[2].keys.clone(),
        ),
        Side::new(
            cluster,
            UnlinkWait(connections.cluster.clone()),
            deletions[3].keys.clone(),
        ),
    );

    plan.pair(
        "raw redis-rs GET + serde_json",
        TASKS,
        Side::new(single, RawGet(connections.single.clone()), hot()),
        Side::new(cluster, RawGet(connections.cluster.clone()), hot()),
    );
    plan.pair(
        "raw GET, on the cluster routed by hand",
        TASKS,
        Side::new(single, RawGet(connections.single.clone()), hot()),
        Side::new(cluster, RoutedGet(connections.users.clone()), hot()),
    );
    plan.pair(
        "#[cached] hit, defaults (coalescing on for a server, off for a cluster)",
        TASKS,
        Side::new(single, Through::Hit(defaults.single.clone()), hot()),
        Side::new(cluster, Through::Hit(defaults.cluster.clone()), hot()),
    );
    plan.pair(
        "#[cached] hit, coalescing off",
        TASKS,
        Side::new(single, Through::Hit(lone.single.clone()), hot()),
        Side::new(cluster, Through::Hit(lone.cluster.clone()), hot()),
    );
    plan.pair(
        "#[cached] hit, first tier on",
        TASKS,
        Side::new(single, Through::Hit(tier.single.clone()), hot()),
        Side::new(cluster, Through::Hit(tier.cluster.clone()), hot()),
    );
    (plan, deletions)
}
