//! One node of a [`RedisCluster`](super::RedisCluster): its process, ports and directory.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::super::{
    LOG_FILE, PROBE_TIMEOUT, PrivateDir, Process, RAW_TIMEOUT, ReservedPort, client,
    launch_on_fresh_port, read_from, relaunch, tail,
};
use super::spawn::spawn_tied_to_binary;

/// Where the cluster bus listens: the node's port plus this.
const BUS_PORT_OFFSET: u16 = 10000;
/// How long a node waits for another before flagging it as failing. Short,
/// so a failover takes about two seconds; not shorter, so a loaded machine
/// does not fail nodes over by itself.
const NODE_TIMEOUT_MS: &str = "1000";
/// The cluster configuration file in the node's directory: it keeps the
/// node's id across restarts.
const NODES_CONF: &str = "nodes.conf";

/// A cluster-mode `redis-server` child process on `127.0.0.1:port()`, owned
/// by its [`RedisCluster`](super::RedisCluster).
///
/// Its methods take `&self`, so a test can kill, freeze and restart nodes of
/// a cluster it only borrows (e.g. through a [`ClusterLease`](super::ClusterLease)).
pub struct ClusterNode {
    /// The cluster node id, kept across restarts by `nodes.conf`.
    id: String,
    /// `None` while killed.
    process: Mutex<Option<Process>>,
    /// When it was last killed or frozen through this handle.
    down_since: Mutex<Option<Instant>>,
    port: ReservedPort,
    bus_port: ReservedPort,
    /// The cluster arguments, replayed by [`ClusterNode::restart`].
    args: Vec<String>,
    /// `--dir`: the log, `nodes.conf`, the captured stderr.
    dir: PrivateDir,
}

impl ClusterNode {
    /// Starts a node in cluster mode on fresh ports, not yet part of a cluster.
    pub(super) fn launch() -> ClusterNode {
        let dir = PrivateDir::create();
        let args = cluster_args(&dir.0);
        let reserve = || {
            let ports = ReservedPort::reserve_with_offset(BUS_PORT_OFFSET);
            let port = ports.0.0;
            (ports, port)
        };
        let ((port, bus_port), process) = launch_on_fresh_port(
            "a redis cluster node",
            reserve,
            &dir.0,
            &args,
            None,
            spawn_tied_to_binary,
        );
        let mut node = ClusterNode {
            id: String::new(),
            process: Mutex::new(Some(process)),
            down_since: Mutex::new(None),
            port,
            bus_port,
            args,
            dir,
        };
        node.id = redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut node.raw())
            .unwrap_or_else(|error| panic!("CLUSTER MYID on {}: {error}", node.url()));
        node
    }

    /// The cluster node id (40 hex characters), the same after a restart.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The loopback port clients connect to (kept across kill and restart).
    pub fn port(&self) -> u16 {
        self.port.0
    }

    /// The cluster bus port: [`ClusterNode::port`] + 10000.
    pub fn bus_port(&self) -> u16 {
        self.bus_port.0
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port.0)
    }

    /// The node's private directory (`--dir`; the log is `redis.log` in it).
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// Process id of the running node, `None` while killed.
    pub fn pid(&self) -> Option<u32> {
        self.process().as_ref().map(Process::pid)
    }

    /// Whether the process runs (frozen or not), i.e. it was not killed.
    pub fn is_running(&self) -> bool {
        self.process().is_some()
    }

    /// Whether it is frozen by [`ClusterNode::freeze`].
    pub fn is_frozen(&self) -> bool {
        self.process()
            .as_ref()
            .is_some_and(|process| process.frozen.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// SIGKILL the process and reap it; the ports stay reserved for
    /// [`ClusterNode::restart`]. Idempotent.
    pub fn kill(&self) {
        let process = self.process().take();
        if let Some(mut process) = process {
            self.mark_down();
            if let Err(error) = process.kill_and_reap() {
                panic!("could not kill {}: {error}", self.describe());
            }
        }
    }

    /// SIGSTOP the process: it keeps its sockets but answers nothing, to
    /// clients or to the cluster bus, until [`ClusterNode::thaw`]. Frozen
    /// longer than the node timeout (1 s), a primary is failed over.
    pub fn freeze(&self) {
        self.signal("freeze", libc::SIGSTOP, true);
        self.mark_down();
    }

    /// SIGCONT the process: undoes [`ClusterNode::freeze`]. A primary that
    /// was failed over meanwhile comes back as a replica of its successor.
    pub fn thaw(&self) {
        self.signal("thaw", libc::SIGCONT, false);
    }

    /// Starts the node again on the same ports with the same `nodes.conf`,
    /// so it rejoins as the same node (an old primary rejoins as a replica of
    /// the replica that replaced it). Its dataset starts empty; a replica
    /// syncs from its primary. Kills it first if it runs.
    ///
    /// Returns once it answers PING; [`RedisCluster::wait_until_healthy`]
    /// waits until the cluster has taken it back.
    ///
    /// [`RedisCluster::wait_until_healthy`]: super::RedisCluster::wait_until_healthy
    pub fn restart(&self) {
        self.kill();
        let process = relaunch(
            "a redis cluster node",
            self.port.0,
            &self.dir.0,
            &self.args,
            None,
            spawn_tied_to_binary,
        );
        *self.process() = Some(process);
    }

    /// A plain synchronous connection to this node alone (keys of slots it
    /// does not serve answer MOVED). Sends nothing on connect, so it can be
    /// opened while the node is frozen; reads and writes time out after 10 s.
    pub fn raw(&self) -> redis::Connection {
        self.try_raw()
            .unwrap_or_else(|error| panic!("could not connect to {}: {error}", self.describe()))
    }

    /// [`ClusterNode::raw`] that returns the error instead of panicking.
    pub fn try_raw(&self) -> redis::RedisResult<redis::Connection> {
        connect(self.port.0, RAW_TIMEOUT)
    }

    /// The last lines of the node's log file (for assertion messages).
    pub fn log_tail(&self) -> String {
        tail(&read_from(&self.dir.0.join(LOG_FILE), 0))
    }

    /// "node 127.0.0.1:PORT (id 1a2b3c4d…)", for messages.
    pub fn describe(&self) -> String {
        let short = self.id.get(..8).unwrap_or(&self.id);
        format!("node 127.0.0.1:{} (id {short}…)", self.port.0)
    }

    /// Running and not frozen: able to answer.
    pub(super) fn is_live(&self) -> bool {
        self.is_running() && !self.is_frozen()
    }

    pub(super) fn down_since(&self) -> Option<Instant> {
        *lock(&self.down_since)
    }

    /// A connection with short timeouts, for polling the node's state.
    pub(super) fn probe(&self) -> redis::RedisResult<redis::Connection> {
        connect(self.port.0, PROBE_TIMEOUT)
    }

    /// The log file's path.
    pub(super) fn log_path(&self) -> PathBuf {
        self.dir.0.join(LOG_FILE)
    }

    /// At the test binary's exit: kills the process and removes the
    /// directory, without waiting for a lock another thread may hold.
    pub(super) fn kill_at_exit(&self) {
        if let Ok(mut process) = self.process.try_lock()
            && let Some(mut process) = process.take()
        {
            let _ = process.kill_and_reap();
        }
        let _ = std::fs::remove_dir_all(&self.dir.0);
    }

    fn process(&self) -> MutexGuard<'_, Option<Process>> {
        lock(&self.process)
    }

    fn mark_down(&self) {
        *lock(&self.down_since) = Some(Instant::now());
    }

    fn signal(&self, action: &str, signal: libc::c_int, frozen: bool) {
        let process = self.process();
        let process = process
            .as_ref()
            .unwrap_or_else(|| panic!("cannot {action} {}: it is killed", self.describe()));
        process.signal(signal).unwrap_or_else(|error| {
            panic!(
                "{action} {} (pid {}): {error}",
                self.describe(),
                process.pid()
            )
        });
        process
            .frozen
            .store(frozen, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The arguments that make `redis-server` a cluster node keeping its
/// configuration in `dir`.
fn cluster_args(dir: &Path) -> Vec<String> {
    let conf = dir.join(NODES_CONF).to_string_lossy().into_owned();
    [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        &conf,
        "--cluster-node-timeout",
        NODE_TIMEOUT_MS,
        // A replica may always take over, however long it was cut off.
        "--cluster-replica-validity-factor",
        "0",
        // Replicas stay with their primaries: the topology changes only
        // when a test changes it.
        "--cluster-allow-replica-migration",
        "no",
        // A replica's first sync starts at once, not after 5 s of waiting
        // for more replicas to share it.
        "--repl-diskless-sync-delay",
        "0",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn connect(port: u16, timeout: std::time::Duration) -> redis::RedisResult<redis::Connection> {
    let con = client(port, None).get_connection_with_timeout(timeout)?;
    con.set_read_timeout(Some(timeout))?;
    con.set_write_timeout(Some(timeout))?;
    Ok(con)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
