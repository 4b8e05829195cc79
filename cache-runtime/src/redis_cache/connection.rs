//! The state every view of one Redis cache shares, and its transport: the lazily opened
//! connection, the breaker gate, the deadline, the resend, queries, pipelines, scripts and
//! scans.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, Pipeline, RedisError, Value};

use super::RedisCacheBuilder;
use tokio::runtime::Handle;

use super::background;
use super::batch::{self, Batch};
use super::breaker::{self, Breaker};
use super::coalesce::Coalescer;
use super::link::{self, Link};
use super::op::{Op, is_broken_connection, is_connection_trouble};
use super::pending::{self, Deletion, Pending, Pushed};
use super::tags;
use super::tier::Tier;
use super::wired::{Node, Wired};
use crate::error::CacheError;
use crate::health::{BreakerState, Health};

/// What all views of one Redis cache share.
pub(super) struct Connection {
    /// What the connections are opened to.
    pub(super) target: Target,
    /// The connections, taken in turn: each opened on first use, on the caller's runtime
    /// (else on `background`); dropped when the breaker opens, so that a connection the
    /// network black-holed is not used again.
    slots: Box<[RwLock<Slot>]>,
    next_slot: AtomicUsize,
    link_config: AsyncConnectionConfig,
    next_link: AtomicU64,
    /// The first tier, if the cache has one; its invalidations come on every connection.
    pub(super) tier: Option<Arc<Tier>>,
    /// Batches the reads in flight at once, unless turned off.
    pub(super) coalescer: Option<Coalescer>,
    /// The cache's own runtime, started on first use (see `background.rs`).
    background: background::Lazy,
    pub(super) op_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) scan_count: usize,
    pub(super) breaker: Breaker,
    /// Failed deletions, waiting for replay. The breaker's "deletions wait" bit is set
    /// whenever this is not empty: both change under its lock.
    pub(super) pending: Mutex<Pending>,
    /// Whether a deletion refused for good (or a fold) has been logged in this episode: one
    /// line, not one per call. Cleared when a deletion succeeds.
    refusal_logged: AtomicBool,
    /// Whether a recovery task is running (see `recovery.rs`).
    pub(super) recovering: AtomicBool,
    /// This connection, for the recovery task, which must not keep it alive.
    pub(super) me: Weak<Connection>,
    /// On a cluster, the slots whose primary has no replica for now (see `unlink.rs`).
    #[cfg(feature = "cluster")]
    pub(super) unreplicated: super::unlink::Unreplicated,
}

impl Connection {
    pub(super) fn new(
        target: Target,
        tier: Option<Arc<Tier>>,
        config: RedisCacheBuilder,
    ) -> Arc<Self> {
        // Our own deadline covers the reply; a second timer per call would only cost.
        let mut link_config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(None);
        if let Some(tier) = &tier {
            // Called by the task reading the socket, in order with the replies.
            link_config = link_config.set_push_sender(Tier::push_sender(tier));
        }
        let connections = config.connections.max(1);
        let coalescer = config
            .coalescing
            .unwrap_or(matches!(target, Target::Server(_)))
            .then(|| Coalescer::new(connections));
        Arc::new_cyclic(|me| Self {
            target,
            slots: (0..connections)
                .map(|_| RwLock::new(Slot::Closed))
                .collect(),
            next_slot: AtomicUsize::new(0),
            link_config,
            next_link: AtomicU64::new(0),
            tier,
            coalescer,
            background: background::Lazy::default(),
            op_timeout: config.op_timeout,
            connect_timeout: config.connect_timeout,
            scan_count: config.scan_count,
            breaker: Breaker::new(config.failure_threshold, config.cool_down),
            pending: Mutex::new(Pending::new(config.max_pending_invalidations)),
            refusal_logged: AtomicBool::new(false),
            recovering: AtomicBool::new(false),
            me: me.clone(),
            #[cfg(feature = "cluster")]
            unreplicated: super::unlink::Unreplicated::default(),
        })
    }

    /// The open connection, or the one being opened; a dead one (its runtime ended, the
    /// server closed it) is replaced.
    ///
    /// No retries: a failed attempt fails the calls waiting on it at once (they fail open),
    /// and the next call starts a fresh attempt. Retrying with back-off would only make
    /// callers wait.
    pub(super) async fn link(&self) -> Result<Link, RedisError> {
        let slot = match self.slots.len() {
            1 => 0,
            connections => self.next_slot.fetch_add(1, Ordering::Relaxed) % connections,
        };
        {
            let open = self.slots[slot]
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Slot::Open(link) = &*open
                && !link.is_dead()
            {
                return Ok(link.clone());
            }
        }
        let mut opening = match self.opening(slot)? {
            Opening::Open(link) => return Ok(link),
            Opening::Waiting(opening) => opening,
        };
        let opened = opening
            .wait_for(Option::is_some)
            .await
            .map_err(|_| gone())?
            .clone();
        opened.unwrap_or_else(|| Err(gone()))
    }

    /// Under the slot's lock: the open connection, the attempt under way, or a new attempt.
    fn opening(&self, index: usize) -> Result<Opening, RedisError> {
        let mut slot = self.slots[index]
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Slot::Open(link) if !link.is_dead() => return Ok(Opening::Open(link.clone())),
            // Unless the attempt was dropped unfinished (its runtime ended).
            Slot::Opening { ready, .. } if ready.has_changed().is_ok() => {
                return Ok(Opening::Waiting(ready.clone()));
            }
            // Dead: the pushes it carried may have been missed (a cluster's, whose runtime
            // ended, had no reader left to say so).
            Slot::Open(_) => self.clear_tier(),
            Slot::Opening { .. } | Slot::Closed => {}
        }
        let id = self.next_link.fetch_add(1, Ordering::Relaxed);
        let (done, ready) = tokio::sync::watch::channel(None);
        let (target, config, connect_timeout) = (
            self.target.clone(),
            self.link_config.clone(),
            self.connect_timeout,
        );
        let me = self.me.clone();
        let tier = self.tier.clone();
        let open = async move {
            let opened = match &target {
                Target::Server(client) => {
                    link::open(client, &config, connect_timeout, id, tier).await
                }
                #[cfg(feature = "cluster")]
                Target::Cluster(client) => link::open_cluster(client, connect_timeout, id).await,
            };
            if let Some(connection) = me.upgrade() {
                connection.opened(index, id, &opened);
            }
            let _ = done.send(Some(opened));
        };
        // On the caller's runtime when there is one: its driver then runs beside the calls,
        // and a hit costs no wake-up across threads. When that runtime ends, the socket
        // dies with it and the next call, from any runtime, opens another link. Outside any
        // runtime (and for the cache's own work), on the cache's runtime.
        if !self.spawn_here(open) {
            return Err(RedisError::from((
                redis::ErrorKind::Client,
                "no Tokio runtime to open a Redis connection on",
            )));
        }
        *slot = Slot::Opening {
            id,
            ready: ready.clone(),
        };
        Ok(Opening::Waiting(ready))
    }

    /// An attempt ended: its connection is the one to use, unless the slot moved on.
    fn opened(&self, index: usize, id: u64, opened: &Result<Link, RedisError>) {
        let mut slot = self.slots[index]
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if matches!(&*slot, Slot::Opening { id: current, .. } if *current == id) {
            *slot = match opened {
                Ok(link) => Slot::Open(link.clone()),
                Err(_) => Slot::Closed,
            };
        }
    }

    /// Forgets link `id` after it failed: the next call opens another. Calls in flight keep it.
    fn discard(&self, id: u64) {
        for slot in &self.slots {
            let mut slot = slot.write().unwrap_or_else(PoisonError::into_inner);
            if matches!(&*slot, Slot::Open(open) if open.id == id) {
                *slot = Slot::Closed;
                self.clear_tier();
            }
        }
    }

    /// Drops the connections, open or being opened: the next ones made are new. Calls in
    /// flight keep theirs.
    pub(super) fn drop_link(&self) {
        for slot in &self.slots {
            *slot.write().unwrap_or_else(PoisonError::into_inner) = Slot::Closed;
        }
        self.clear_tier();
    }

    /// Whether every open connection is still open, asked of each socket (one system call
    /// each: see `Link::is_closed`); one that the server closed is marked dead, which clears
    /// the first tier. A connection opened by redis-rs (TLS) cannot be asked, and counts as
    /// open until its reader sees the end.
    pub(super) fn links_open(&self) -> bool {
        self.slots.iter().all(
            |slot| match &*slot.read().unwrap_or_else(PoisonError::into_inner) {
                Slot::Open(link) => !link.is_closed(),
                Slot::Opening { .. } | Slot::Closed => true,
            },
        )
    }

    /// A connection that carried the first tier's invalidations is gone, or this process
    /// deleted more than it can name: nothing kept so far can be trusted.
    pub(super) fn clear_tier(&self) {
        if let Some(tier) = &self.tier {
            tier.clear();
        }
    }

    /// Drops `full_key` from the first tier: this process is changing it.
    pub(super) fn forget(&self, full_key: &[u8]) {
        if let Some(tier) = &self.tier {
            tier.forget(full_key);
        }
    }

    /// This process is about to change the full keys `keys` gives (`None`: every key, for a
    /// flush): the first tier drops them now, and again when the returned guard goes, once
    /// the change was answered or given up. The second time covers a read through another
    /// connection that raced the change, and Redis's push to the writer itself, which comes
    /// after the change's reply. Without a first tier, `keys` is not called.
    pub(super) fn changing(
        &self,
        keys: impl FnOnce() -> Option<Vec<Vec<u8>>>,
    ) -> Option<Changing<'_>> {
        self.tier.as_ref()?;
        let changing = Changing {
            connection: self,
            keys: keys(),
        };
        changing.forget();
        Some(changing)
    }

    /// Spawns `future` on the caller's runtime, where its work runs beside the calls and a
    /// reply costs no wake-up across threads; outside any runtime, on the cache's own.
    /// Whether it was spawned.
    pub(super) fn spawn_here(&self, future: impl Future<Output = ()> + Send + 'static) -> bool {
        match Handle::try_current() {
            Ok(runtime) => {
                drop(runtime.spawn(future));
                true
            }
            Err(_) => self.background.spawn(future),
        }
    }

    /// Runs `future` on the cache's own runtime, detached: for work that must not depend
    /// on the caller's runtime (a lease given back from a `Drop`, say). It runs until it
    /// ends or the last handle to the cache is dropped, whichever comes first. Outside any
    /// runtime, if the cache's thread could not be started, it is dropped unrun.
    pub(super) fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        if !self.background.spawn(future) {
            tracing::debug!(target: "cache_aside", "no runtime for detached cache work; dropped");
        }
    }

    pub(super) fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A deletion that failed: kept for replay if the server could not take it for now
    /// (`error.is_unavailable()`: out of reach, a timeout, an open breaker, or a refusal that
    /// passes such as `OOM` or `BUSY`); returns whether it was. Otherwise the server refused
    /// it for good (`NOPERM`, say): it is counted as dropped and logged, once per episode.
    ///
    /// A kept deletion does not open the breaker: it keeps the keys it covers away from the
    /// cache (see [`blocks`](Self::blocks)) and the recovery task replays it at once, then
    /// after each cool-down while it fails.
    pub(super) fn defer(&self, deletion: Deletion, error: &CacheError) -> bool {
        if !error.is_unavailable() {
            self.pending().count_dropped();
            self.log_refusal(error, 1);
            return false;
        }
        {
            let mut pending = self.pending();
            let first = pending.is_empty();
            let pushed = pending.push(deletion);
            self.breaker.set_pending(true);
            // While the breaker is open its own line covers the episode.
            if first && self.breaker.state() == BreakerState::Closed {
                tracing::warn!(
                    target: "cache_aside",
                    code = error.code().as_str(),
                    error = %error,
                    "cache deletion failed: it is kept for replay, and the keys it covers skip \
                     the cache until it has been replayed"
                );
            }
            if let Pushed::Folded { from, to } = pushed
                && !self.refusal_logged.swap(true, Ordering::AcqRel)
            {
                tracing::warn!(
                    target: "cache_aside",
                    from,
                    to,
                    "too many cache deletions wait for replay: they are folded into fewer \
                     patterns, which may delete more entries than were invalidated"
                );
            }
        }
        self.recover();
        true
    }

    /// Logs a deletion the server refused for good, once until a deletion succeeds again.
    pub(super) fn log_refusal(&self, error: &CacheError, deletions: usize) {
        if !self.refusal_logged.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                target: "cache_aside",
                code = error.code().as_str(),
                error = %error,
                deletions,
                "the server refused a cache deletion for good; it is given up (counted in \
                 `dropped_invalidations`), and the entries may be served until their TTL ends"
            );
        }
    }

    /// Whether a waiting deletion covers `full_key` (the view's prefix and the key): then
    /// reads and writes of it are refused without being sent, until the deletion has been
    /// replayed. One atomic load while nothing waits; otherwise a lock, a hash lookup, and a
    /// match against each waiting pattern. While a tag's deletion waits every key is
    /// covered: which keys a tag holds only Redis knows.
    pub(super) fn blocks(&self, full_key: &[u8]) -> bool {
        Breaker::pending_in(self.breaker.gate()) && self.pending().covers(full_key)
    }

    /// Fails at once (counted as rejected) if a waiting deletion covers `key` under
    /// `prefix`: for operations on several keys, whose `Op` names none.
    pub(super) fn admit_key(&self, op: Op<'_>, prefix: &str, key: &str) -> Result<(), CacheError> {
        if Breaker::pending_in(self.breaker.gate())
            && self.blocks(&[prefix.as_bytes(), key.as_bytes()].concat())
        {
            self.breaker.reject();
            return Err(op.blocked());
        }
        Ok(())
    }

    /// Under the queue's lock, after it changed: the breaker's "deletions wait" bit.
    pub(super) fn pending_changed(&self, pending: &Pending) {
        self.breaker.set_pending(!pending.is_empty());
    }

    pub(super) fn health(&self) -> Health {
        let pending = self.pending();
        Health {
            state: self.breaker.state(),
            consecutive_failures: self.breaker.consecutive_failures(),
            times_opened: self.breaker.times_opened(),
            rejected: self.breaker.rejected(),
            pending_invalidations: pending.len(),
            replayed_invalidations: pending.replayed(),
            dropped_invalidations: pending.dropped(),
        }
    }

    /// Runs one round trip under the operation deadline, if the breaker lets it through;
    /// its connection failures and timeouts count towards opening the breaker.
    pub(super) async fn run<T, F>(
        &self,
        op: Op<'_>,
        send: impl Fn(Wired) -> F,
    ) -> Result<T, CacheError>
    where
        F: Future<Output = Result<T, RedisError>>,
    {
        self.admit_op(op)?;
        let result = self.send(op, send).await;
        match &result {
            Err(error) if error.is_connection() || error.is_timeout() => {
                if op.guarded && self.breaker.failed() {
                    let failures = self.breaker.consecutive_failures();
                    if self.breaker.open(breaker::Why::Failures(failures, error)) {
                        self.drop_link();
                    }
                    self.recover();
                }
            }
            Ok(_) if op.deletion => {
                self.breaker.succeeded();
                if self.refusal_logged.load(Ordering::Relaxed) {
                    self.refusal_logged.store(false, Ordering::Relaxed);
                }
            }
            _ => self.breaker.succeeded(),
        }
        result
    }

    /// Whether `op` may be sent now (see [`admit`](Self::admit)).
    pub(super) fn admit_op(&self, op: Op<'_>) -> Result<(), CacheError> {
        if op.guarded {
            // The hit path: one load, zero while the breaker is closed and nothing waits.
            let gate = self.breaker.gate();
            if gate != 0 {
                self.admit(op, gate)?;
            }
        }
        Ok(())
    }

    /// Whether the breaker is closed and no deletion waits: only then may the first tier
    /// serve or keep values.
    pub(super) fn all_clear(&self) -> bool {
        self.breaker.gate() == 0
    }

    /// The slow path of the gate: the breaker is open, or deletions wait (then deletions
    /// are queued behind them, and reads and writes of the keys they cover refused).
    fn admit(&self, op: Op<'_>, gate: u8) -> Result<(), CacheError> {
        if !self.breaker.admit(op.deletion) {
            self.recover();
            return Err(op.circuit_open());
        }
        if !Breaker::pending_in(gate) {
            return Ok(());
        }
        if op.deletion {
            // It joins the waiting ones instead: the recovery task is replaying them (at once
            // while the server answers), and while it does not, sending this one would only
            // cost the caller another timeout. So a call invalidating several targets during
            // an outage waits for one deadline, not one per target.
            return Err(op.joins_queue());
        }
        match (op.prefix, op.key) {
            (Some(prefix), Some(key)) => self.admit_key(op, prefix, key),
            _ => Ok(()),
        }
    }

    /// Sends one round trip under the operation deadline.
    ///
    /// A command that fails because the connection broke is sent once more on a new one,
    /// within the same deadline, if it never reached the server (see `link.rs`), or if it
    /// is resendable: so the first call after the connection died while idle (a server
    /// restart, Redis's `timeout`, `CLIENT KILL`) still succeeds.
    pub(super) async fn send<T, F>(
        &self,
        op: Op<'_>,
        send: impl Fn(Wired) -> F,
    ) -> Result<T, CacheError>
    where
        F: Future<Output = Result<T, RedisError>>,
    {
        let attempts = async {
            let mut link = self.link().await?;
            if !op.resendable && link.is_closed() {
                self.discard(link.id);
                link = self.link().await?;
            }
            let outlives_failures = link.outlives_failures();
            let (connection, mark, id) = link.into_parts();
            match send(connection).await {
                Err(error) if is_connection_trouble(&error) => {
                    if !outlives_failures {
                        self.discard(id);
                    }
                    if mark.never_written() || (op.resendable && is_broken_connection(&error)) {
                        send(self.link().await?.connection).await
                    } else {
                        Err(error)
                    }
                }
                result => result,
            }
        };
        match tokio::time::timeout(self.op_timeout, attempts).await {
            Ok(Ok(value)) => {
                if let Some(tier) = &self.tier {
                    tier.replied();
                }
                Ok(value)
            }
            Ok(Err(source)) => Err(op.redis_error(source)),
            Err(_) => Err(op.timed_out(self.op_timeout)),
        }
    }

    pub(super) async fn query<T: FromRedisValue>(
        &self,
        op: Op<'_>,
        cmd: &Cmd,
    ) -> Result<T, CacheError> {
        self.run(op, |mut connection| async move {
            cmd.query_async(&mut connection).await
        })
        .await
    }

    /// Deletes the keys matching `pattern`; with `spare_tags`, not tags' sets.
    pub(super) async fn scan_and_unlink(
        &self,
        op: Op<'_>,
        pattern: &str,
        spare_tags: bool,
    ) -> Result<u64, CacheError> {
        self.scan_unlinking(op, Some(pattern), |key| {
            !spare_tags || !tags::is_tag_key(key)
        })
        .await
    }

    /// Deletes the keys that any of `patterns` matches, in one `SCAN` pass over what they
    /// share (each `Pattern` sparing tags' sets, as `delete_pattern` does).
    pub(super) async fn scan_and_unlink_all(
        &self,
        op: Op<'_>,
        patterns: &[Deletion],
    ) -> Result<u64, CacheError> {
        if let [Deletion::Pattern(pattern) | Deletion::Everything(pattern)] = patterns {
            let spare_tags = matches!(patterns, [Deletion::Pattern(_)]);
            return self.scan_and_unlink(op, pattern, spare_tags).await;
        }
        let matching = pending::scan_match(patterns);
        self.scan_unlinking(op, matching.as_deref(), |key| {
            pending::deletes(patterns, key)
        })
        .await
    }

    /// One `SCAN` pass (`MATCH matching`, if any) over every node that holds keys (the
    /// server, or each primary of a cluster), unlinking the keys that `deletes` picks, a
    /// batch at a time; how many were deleted.
    async fn scan_unlinking(
        &self,
        op: Op<'_>,
        matching: Option<&str>,
        deletes: impl Fn(&[u8]) -> bool,
    ) -> Result<u64, CacheError> {
        let mut deleted = 0;
        for node in self.key_holders(op).await? {
            deleted += self.scan_node(op, &node, matching, &deletes).await?;
        }
        Ok(deleted)
    }

    /// The nodes that hold keys: the server (asking nothing), or every primary of the
    /// cluster, asked of the cluster.
    #[cfg_attr(not(feature = "cluster"), allow(unused_variables))]
    async fn key_holders(&self, op: Op<'_>) -> Result<Vec<Node>, CacheError> {
        match self.target {
            Target::Server(_) => Ok(vec![Node::Any]),
            #[cfg(feature = "cluster")]
            Target::Cluster(_) => {
                self.run(op, |mut connection| async move {
                    connection.key_holders().await
                })
                .await
            }
        }
    }

    /// `SCAN`s one node, unlinking what `deletes` picks.
    async fn scan_node(
        &self,
        op: Op<'_>,
        node: &Node,
        matching: Option<&str>,
        deletes: &impl Fn(&[u8]) -> bool,
    ) -> Result<u64, CacheError> {
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor);
            if let Some(matching) = matching {
                scan.arg("MATCH").arg(matching);
            }
            scan.arg("COUNT").arg(self.scan_count);
            let scan = &scan;
            // Keys as bytes: another writer's non-UTF-8 keys must not stop the deletion.
            let (next, mut keys): (u64, Vec<Vec<u8>>) = self
                .run(op, |mut connection| async move {
                    Ok(redis::from_redis_value(
                        connection.query_on(node, scan).await?,
                    )?)
                })
                .await?;
            keys.retain(|key| deletes(key));
            if !keys.is_empty() {
                let _changing = self.changing(|| Some(keys.clone()));
                let removed = self.unlink(op.not_resent(), &keys).await?;
                deleted += removed;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// A batch (see `batch.rs`) that succeeds as a whole, under the operation deadline:
    /// every reply, or the first error reply as the error.
    pub(super) async fn batch(&self, op: Op<'_>, batch: &Batch) -> Result<Vec<Value>, CacheError> {
        self.run(op, |mut connection| async move {
            let replies = connection.send_batch(batch).await?;
            match batch::first_error(&replies) {
                Some(error) => Err(error),
                None => Ok(replies),
            }
        })
        .await
    }

    /// A batch whose replies are each their own answer: error replies are values.
    pub(super) async fn batch_replies(
        &self,
        op: Op<'_>,
        batch: &Batch,
    ) -> Result<Vec<Value>, CacheError> {
        self.run(op, |mut connection| async move {
            connection.send_batch(batch).await
        })
        .await
    }

    /// An empty batch for these connections: on a cluster it keeps each command's slot.
    pub(super) fn new_batch(&self) -> Batch {
        #[cfg(feature = "cluster")]
        return Batch::new(self.is_cluster());
        #[cfg(not(feature = "cluster"))]
        Batch::new(false)
    }

    /// Whether the connections go to a cluster (whose pipelines must keep to one slot).
    #[cfg(feature = "cluster")]
    pub(super) fn is_cluster(&self) -> bool {
        matches!(self.target, Target::Cluster(_))
    }

    /// A pipeline whose replies are wanted, under the operation deadline.
    pub(super) async fn pipeline_query<T: FromRedisValue>(
        &self,
        op: Op<'_>,
        pipeline: &Pipeline,
    ) -> Result<T, CacheError> {
        self.run(op, |mut connection| async move {
            pipeline.query_async(&mut connection).await
        })
        .await
    }
}

/// Drops keys (or everything) from the first tier when made and when dropped: see
/// [`Connection::changing`].
pub(super) struct Changing<'a> {
    connection: &'a Connection,
    keys: Option<Vec<Vec<u8>>>,
}

impl Changing<'_> {
    fn forget(&self) {
        match &self.keys {
            Some(keys) => keys.iter().for_each(|key| self.connection.forget(key)),
            None => self.connection.clear_tier(),
        }
    }
}

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        self.forget();
    }
}

/// What a cache's connections are opened to.
// One per cache, made once: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(super) enum Target {
    /// One server.
    Server(redis::Client),
    /// A Redis Cluster, through its seed nodes.
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster::ClusterClient),
}

impl Target {
    /// Where it is, for `Debug`: the address of the server, or the seeds of the cluster (no
    /// password: URLs may hold one).
    pub(super) fn describe(&self) -> String {
        match self {
            Target::Server(client) => client.get_connection_info().addr().to_string(),
            #[cfg(feature = "cluster")]
            Target::Cluster(_) => "cluster".to_owned(),
        }
    }
}

/// The connection slot.
enum Slot {
    Closed,
    Opening {
        id: u64,
        ready: tokio::sync::watch::Receiver<Option<Result<Link, RedisError>>>,
    },
    Open(Link),
}

enum Opening {
    Open(Link),
    Waiting(tokio::sync::watch::Receiver<Option<Result<Link, RedisError>>>),
}

/// The attempt to connect was dropped unfinished (its runtime is shutting down).
fn gone() -> RedisError {
    RedisError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::RedisCache;

    thread_local! {
        /// Dropped when the thread that set it ends.
        static HELD: std::cell::RefCell<Option<Arc<()>>> = const { std::cell::RefCell::new(None) };
    }

    #[test]
    fn dropping_the_last_handle_stops_the_cache_thread() {
        // Nothing listens there: no connection is needed to start the thread.
        let cache = RedisCache::new("redis://127.0.0.1:1").unwrap();
        let view = cache.with_prefix("v:");
        let clone = view.clone();
        assert!(!cache.connection.background.started(), "lazy");
        // Held by the cache's thread itself: released only when that thread ends.
        let sentinel = Arc::new(());
        let held = sentinel.clone();
        let (placed, was_placed) = std::sync::mpsc::channel();
        clone.connection.spawn(async move {
            HELD.with(|slot| *slot.borrow_mut() = Some(held));
            let _ = placed.send(());
        });
        assert!(cache.connection.background.started());
        was_placed.recv_timeout(Duration::from_secs(10)).unwrap();
        drop((cache, view));
        assert_eq!(
            Arc::strong_count(&sentinel),
            2,
            "a clone keeps the thread running"
        );
        drop(clone);
        let start = Instant::now();
        while Arc::strong_count(&sentinel) != 1 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the thread ended with the last handle"
            );
            std::thread::yield_now();
        }
    }
}
