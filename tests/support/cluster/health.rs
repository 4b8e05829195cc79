//! When a cluster counts as settled, and waiting until it is.

use std::fmt::Write as _;
use std::thread;
use std::time::{Duration, Instant};

use super::super::read_from;
use super::SLOTS;
use super::node::ClusterNode;
use super::view::{Layout, View, info_field};

/// Pause between two looks at the cluster.
const POLL: Duration = Duration::from_millis(20);
/// Lines of each node's log quoted in a panic message.
const LOG_LINES: usize = 15;

/// What a set of nodes must say, besides `cluster_state:ok`, every slot
/// assigned and served, and each replica's link to its primary up; they must
/// also agree on who serves which slots and who replicates whom (a node
/// learns of the others' changes by gossip, a little later).
pub(super) enum Condition<'a> {
    /// Every node they know is reachable, none is failing, no slot is
    /// half-way through a migration.
    Healthy,
    /// Every slot is served by one of these nodes.
    ServedBy(&'a [&'a ClusterNode]),
}

/// Whether every one of `nodes` (each knowing `known` nodes) says the
/// cluster meets `condition`; else what is missing first.
pub(super) fn check(
    nodes: &[&ClusterNode],
    known: usize,
    condition: Condition<'_>,
) -> Result<(), String> {
    let mut agreed: Option<(String, Layout)> = None;
    for node in nodes {
        let name = node.describe();
        if !node.is_live() {
            return Err(format!("{name} is killed or frozen"));
        }
        let mut con = node
            .probe()
            .map_err(|error| format!("{name}: connect: {error}"))?;
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query(&mut con)
            .map_err(|error| format!("{name}: CLUSTER INFO: {error}"))?;
        for (field, wanted) in [
            ("cluster_state", "ok".to_owned()),
            ("cluster_slots_assigned", SLOTS.to_string()),
            ("cluster_known_nodes", known.to_string()),
        ] {
            let value = info_field(&info, field);
            if value != Some(wanted.as_str()) {
                return Err(format!(
                    "{name} says {field}:{}",
                    value.unwrap_or("(missing)")
                ));
            }
        }
        let view =
            View::ask(&mut con).map_err(|error| format!("{name}: CLUSTER NODES: {error}"))?;
        let myself = view
            .myself()
            .ok_or_else(|| format!("{name}: CLUSTER NODES has no `myself` line:\n{view}"))?;
        match condition {
            Condition::Healthy => {
                if let Some(entry) = view
                    .entries()
                    .iter()
                    .find(|entry| entry.is_unsettled() || !entry.connected)
                {
                    return Err(format!(
                        "{name} sees port {} failing, unreachable or in handshake:\n{view}",
                        entry.port
                    ));
                }
                if !myself.migrations.is_empty() {
                    return Err(format!(
                        "{name} has a slot half-way through a migration:\n{view}"
                    ));
                }
            }
            Condition::ServedBy(servers) => {
                if let Some((first, last, id)) = view
                    .slot_map()
                    .into_iter()
                    .find(|(_, _, id)| !servers.iter().any(|server| server.id() == id))
                {
                    return Err(format!(
                        "{name} says slots {first}-{last} are served by {id}, not by one of the survivors:\n{view}"
                    ));
                }
            }
        }
        if view.served_slots() != u32::from(SLOTS) {
            return Err(format!(
                "{name} sees {} slots served:\n{view}",
                view.served_slots()
            ));
        }
        if myself.has_flag("slave") {
            let replication: String = redis::cmd("INFO")
                .arg("replication")
                .query(&mut con)
                .map_err(|error| format!("{name}: INFO replication: {error}"))?;
            let link = info_field(&replication, "master_link_status");
            if link != Some("up") {
                return Err(format!(
                    "{name} is a replica whose master_link_status is {}",
                    link.unwrap_or("(missing)")
                ));
            }
        }
        let layout = view.layout();
        match &agreed {
            None => agreed = Some((name, layout)),
            Some((first_name, first_layout)) if *first_layout != layout => {
                return Err(format!(
                    "{name} and {first_name} disagree on who serves which slots or who \
                     replicates whom; {name} says:\n{view}"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Polls `check` until it returns `Ok`; after `limit`, panics with `what`,
/// the last thing missing and the tails of the nodes' logs.
pub(super) fn wait_for<T>(
    what: &str,
    limit: Duration,
    nodes: &[ClusterNode],
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match check() {
            Ok(done) => return done,
            Err(missing) if Instant::now() >= deadline => panic!(
                "{what} did not happen within {limit:?}; last seen: {missing}\n{}",
                log_tails(nodes)
            ),
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// The last lines of every node's log, each under a heading.
pub(super) fn log_tails(nodes: &[ClusterNode]) -> String {
    let mut tails = String::new();
    for node in nodes {
        let log = read_from(&node.log_path(), 0);
        let lines: Vec<&str> = log.lines().collect();
        let _ = writeln!(
            tails,
            "--- {} ({}) log tail ---\n{}",
            node.describe(),
            if node.is_frozen() {
                "frozen"
            } else if node.is_running() {
                "running"
            } else {
                "killed"
            },
            lines[lines.len().saturating_sub(LOG_LINES)..].join("\n")
        );
    }
    tails
}
