//! The state every view of one Redis cache shares, and its transport: the lazily opened
//! connection, the breaker gate, the deadline, the resend, queries, pipelines, scripts and
//! scans.

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, Pipeline, RedisError, ScriptInvocation};

use super::RedisCacheBuilder;
use super::breaker::{self, Breaker};
use super::op::{Op, is_broken_connection};
use super::pending::{Deletion, Pending};
use super::tags;
use crate::error::CacheError;
use crate::glob;
use crate::health::Health;
use crate::limits::Limits;

/// What all views of one Redis cache share.
pub(super) struct Connection {
    pub(super) client: redis::Client,
    /// Made on first use because making it needs a Tokio runtime, and construction may run
    /// outside one; dropped when the breaker opens, so that a connection the network
    /// black-holed is not used again.
    pub(super) manager: RwLock<Option<ConnectionManager>>,
    pub(super) op_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) scan_count: usize,
    pub(super) limits: Limits,
    pub(super) breaker: Breaker,
    /// Failed deletions. The breaker is open whenever this is not empty: both change under
    /// its lock.
    pub(super) pending: Mutex<Pending>,
    /// Whether a recovery task is running (see `recovery.rs`).
    pub(super) recovering: AtomicBool,
    /// This connection, for the recovery task, which must not keep it alive.
    pub(super) me: Weak<Connection>,
}

impl Connection {
    pub(super) fn new(client: redis::Client, config: RedisCacheBuilder) -> Arc<Self> {
        let everything = format!("{}*", glob::escape(&config.prefix));
        Arc::new_cyclic(|me| Self {
            client,
            manager: RwLock::new(None),
            op_timeout: config.op_timeout,
            connect_timeout: config.connect_timeout,
            scan_count: config.scan_count,
            limits: config.limits,
            breaker: Breaker::new(config.failure_threshold, config.cool_down),
            pending: Mutex::new(Pending::new(config.max_pending_invalidations, everything)),
            recovering: AtomicBool::new(false),
            me: me.clone(),
        })
    }

    pub(super) fn manager(&self) -> Result<ConnectionManager, RedisError> {
        if let Some(manager) = &*self.manager.read().unwrap_or_else(PoisonError::into_inner) {
            return Ok(manager.clone());
        }
        // No retries inside redis-rs: a failed attempt fails the calls waiting on it at once
        // (they fail open), and the next call starts a fresh attempt. Retrying with back-off
        // would only make callers wait.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(self.connect_timeout))
            // Our own deadline covers the reply; a second timer per call would only cost.
            .set_response_timeout(None);
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        // Two first calls may race here; the loser's manager is dropped unused.
        let mut slot = self.manager.write().unwrap_or_else(PoisonError::into_inner);
        Ok(slot.get_or_insert(manager).clone())
    }

    /// Drops the connection: the next one made is new. Calls in flight keep theirs.
    pub(super) fn drop_manager(&self) {
        *self.manager.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    pub(super) fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A deletion that failed because the server is out of reach: kept for replay, and the
    /// breaker opened until it has been replayed, since the entry may still be there.
    pub(super) fn defer(&self, deletion: Deletion, error: &CacheError) {
        {
            let mut pending = self.pending();
            if pending.push(deletion) {
                tracing::warn!(
                    dropped = pending.dropped(),
                    "too many cache deletions wait for replay: they are replaced by a \
                     deletion of every key under the cache's prefix"
                );
            }
            if self.breaker.open(breaker::Why::Deletion(error)) {
                self.drop_manager();
            }
        }
        self.recover();
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
        send: impl Fn(ConnectionManager) -> F,
    ) -> Result<T, CacheError>
    where
        F: Future<Output = Result<T, RedisError>>,
    {
        if op.guarded && !self.breaker.admit(op.deletion) {
            self.recover();
            return Err(op.circuit_open());
        }
        let result = self.send(op, send).await;
        match &result {
            Err(error) if error.is_connection() || error.is_timeout() => {
                if op.guarded && self.breaker.failed() {
                    let failures = self.breaker.consecutive_failures();
                    if self.breaker.open(breaker::Why::Failures(failures, error)) {
                        self.drop_manager();
                    }
                    self.recover();
                }
            }
            _ => self.breaker.succeeded(),
        }
        result
    }

    /// Sends one round trip under the operation deadline.
    ///
    /// A resendable command that fails because an established connection broke is sent once
    /// more, within the same deadline: the manager has started a new connection by then, so
    /// the first call after a server restart, or in a runtime other than the one that opened
    /// the connection, still succeeds.
    pub(super) async fn send<T, F>(
        &self,
        op: Op<'_>,
        send: impl Fn(ConnectionManager) -> F,
    ) -> Result<T, CacheError>
    where
        F: Future<Output = Result<T, RedisError>>,
    {
        let attempts = async {
            match send(self.manager()?).await {
                Err(error) if op.resendable && is_broken_connection(&error) => {
                    send(self.manager()?).await
                }
                result => result,
            }
        };
        match tokio::time::timeout(self.op_timeout, attempts).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(op.redis_error(source)),
            Err(_) => Err(op.timed_out(self.op_timeout)),
        }
    }

    pub(super) async fn query<T: FromRedisValue>(
        &self,
        op: Op<'_>,
        cmd: &Cmd,
    ) -> Result<T, CacheError> {
        self.run(op, |mut manager| async move {
            cmd.query_async(&mut manager).await
        })
        .await
    }

    pub(super) async fn pipeline(&self, op: Op<'_>, pipeline: &Pipeline) -> Result<(), CacheError> {
        self.run(op, |mut manager| async move {
            pipeline.query_async(&mut manager).await
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
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(self.scan_count);
            // Keys as bytes: another writer's non-UTF-8 keys must not stop the deletion.
            let (next, mut keys): (u64, Vec<Vec<u8>>) = self.query(op, &scan).await?;
            if spare_tags {
                keys.retain(|key| !tags::is_tag_key(key));
            }
            if !keys.is_empty() {
                let removed: u64 = self
                    .query(op.not_resent(), redis::cmd("UNLINK").arg(&keys))
                    .await?;
                deleted += removed;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// Runs a script under the operation deadline: `EVALSHA`, then on `NOSCRIPT` (a fresh
    /// or restarted server) `SCRIPT LOAD` and `EVALSHA` again, as redis-rs does.
    pub(super) async fn invoke<T: FromRedisValue>(
        &self,
        op: Op<'_>,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, CacheError> {
        self.run(op, |mut manager| async move {
            invocation.invoke_async(&mut manager).await
        })
        .await
    }

    /// A pipeline whose replies are wanted, under the operation deadline.
    pub(super) async fn pipeline_query<T: FromRedisValue>(
        &self,
        op: Op<'_>,
        pipeline: &Pipeline,
    ) -> Result<T, CacheError> {
        self.run(op, |mut manager| async move {
            pipeline.query_async(&mut manager).await
        })
        .await
    }
}
