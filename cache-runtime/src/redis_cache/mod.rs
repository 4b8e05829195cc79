//! The Redis adapter: one lazily opened, shared, auto-reconnecting multiplexed connection,
//! and a deadline on every operation.

mod breaker;
mod builder;
mod key;
mod lease;
mod pending;
mod recovery;
mod tags;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, Pipeline, RedisError};

use breaker::Breaker;
pub use builder::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_COOL_DOWN, DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_MAX_PENDING_INVALIDATIONS, DEFAULT_OP_TIMEOUT, DEFAULT_SCAN_COUNT, RedisCacheBuilder,
};
use key::PrefixedKey;
use pending::{Deletion, Pending};

use crate::error::{CacheError, ErrorCode};
use crate::health::Health;
use crate::lease::{DetachedRelease, Lease, LeaseToken, Lookup};
use crate::limits::Limits;
use crate::port::{Cache, Identity};
use crate::{expiry, glob};

/// A cache in Redis: the production adapter.
///
/// All clones, and all views made with [`with_prefix`](Self::with_prefix), share one
/// multiplexed connection (redis-rs's `ConnectionManager`): concurrent calls are pipelined on
/// it rather than checking connections out of a pool. It is opened on first use, not at
/// construction, so an application starts even while Redis is down, and it reopens by itself
/// after the connection breaks.
///
/// Every round trip has a deadline ([`RedisCacheBuilder::op_timeout`], default
/// [`DEFAULT_OP_TIMEOUT`]) covering the wait for a connection too, so a call never waits on
/// redis-rs's reconnect back-off: while the server is down a call fails with
/// [`ErrorCode::Connection`] or [`ErrorCode::Timeout`] within that deadline. After a few such
/// failures in a row the circuit breaker opens and calls fail at once with
/// [`ErrorCode::CircuitOpen`] until a background probe finds the server back; deletions
/// that fail are kept and replayed then (see [`RedisCacheBuilder::failure_threshold`],
/// [`RedisCacheBuilder::max_pending_invalidations`] and [`RedisCache::health`]). Every operation
/// is one round trip except `delete_pattern` and a prefixed `flush`, which take one per
/// `SCAN` batch and so grow with the size of the keyspace.
///
/// Operations need a Tokio runtime with IO and time enabled (`#[tokio::main]` and
/// `Builder::enable_all` do both).
///
/// ```no_run
/// use std::time::Duration;
/// use cache_aside::prelude::*;
/// use cache_aside::RedisCache;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_aside::CacheError> {
/// let cache = RedisCache::builder("redis://127.0.0.1:6379/0")
///     .prefix("app:")
///     .op_timeout(Duration::from_millis(100))
///     .build()?;
/// cache.set("user:1", "Ada", Some(Duration::from_secs(60))).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisCache {
    connection: Arc<Connection>,
    prefix: Arc<str>,
    escaped_prefix: Arc<str>,
    /// Shared by this view's clones; each view has its own.
    identity: Identity,
}

/// What all views of one Redis cache share.
struct Connection {
    client: redis::Client,
    /// Made on first use because making it needs a Tokio runtime, and construction may run
    /// outside one; dropped when the breaker opens, so that a connection the network
    /// black-holed is not used again.
    manager: RwLock<Option<ConnectionManager>>,
    op_timeout: Duration,
    connect_timeout: Duration,
    scan_count: usize,
    limits: Limits,
    breaker: Breaker,
    /// Failed deletions. The breaker is open whenever this is not empty: both change under
    /// its lock.
    pending: Mutex<Pending>,
    /// Whether a recovery task is running (see `recovery.rs`).
    recovering: AtomicBool,
    /// This connection, for the recovery task, which must not keep it alive.
    me: Weak<Connection>,
}

/// What an operation is: for its errors, and whether sending it twice is harmless.
#[derive(Clone, Copy)]
struct Op<'a> {
    command: &'static str,
    code: ErrorCode,
    key: Option<&'a str>,
    pattern: Option<&'a str>,
    /// Whether a second send after a lost reply gives the same answer.
    resendable: bool,
    /// Whether the breaker decides if it is sent: not for the recovery task's own probe
    /// and replays, which are how the breaker closes.
    guarded: bool,
    /// Whether it deletes: deletions are sent again as soon as a probe reaches the server.
    deletion: bool,
}

impl<'a> Op<'a> {
    fn on_key(command: &'static str, code: ErrorCode, key: &'a str) -> Self {
        Self {
            key: Some(key),
            ..Self::plain(command, code)
        }
    }

    fn on_pattern(command: &'static str, code: ErrorCode, pattern: &'a str) -> Self {
        Self {
            pattern: Some(pattern),
            ..Self::plain(command, code)
        }
    }

    fn plain(command: &'static str, code: ErrorCode) -> Self {
        Self {
            command,
            code,
            key: None,
            pattern: None,
            resendable: true,
            guarded: true,
            deletion: false,
        }
    }

    fn deletion(self) -> Self {
        Self {
            deletion: true,
            ..self
        }
    }

    /// For the recovery task: sent while the breaker is open.
    fn unguarded(self) -> Self {
        Self {
            guarded: false,
            ..self
        }
    }

    /// For commands whose answer changes when they run twice because a reply was lost:
    /// `INCRBY` would count twice, and a second `UNLINK` or `PEXPIRE` would report that the
    /// key did not exist.
    fn not_resent(self) -> Self {
        Self {
            resendable: false,
            ..self
        }
    }

    fn error(self, code: ErrorCode, message: String) -> CacheError {
        let mut error = CacheError::new(code, message);
        if let Some(key) = self.key {
            error = error.with_key(key);
        }
        if let Some(pattern) = self.pattern {
            error = error.with_pattern(pattern);
        }
        error
    }

    /// Classifies a redis-rs error: connection trouble and deadlines first, since that is what
    /// callers act on, then the operation's own code.
    fn redis_error(self, source: RedisError) -> CacheError {
        let code = if source.is_timeout() {
            ErrorCode::Timeout
        } else if source.is_io_error()
            || source.is_connection_dropped()
            || source.is_connection_refusal()
            || store_unusable(&source)
        {
            ErrorCode::Connection
        } else {
            self.code
        };
        self.error(code, format!("{} failed", self.command))
            .with_source(source)
    }

    fn timed_out(self, after: Duration) -> CacheError {
        self.error(
            ErrorCode::Timeout,
            format!("{} got no reply within {after:?}", self.command),
        )
    }

    fn not_utf8(self) -> CacheError {
        self.error(self.code, "stored value is not valid UTF-8".to_owned())
    }

    fn circuit_open(self) -> CacheError {
        self.error(
            ErrorCode::CircuitOpen,
            format!(
                "{} not sent: the circuit breaker is open while the server is unreachable or \
                 failed deletions wait for replay",
                self.command
            ),
        )
    }
}

impl Connection {
    fn new(client: redis::Client, config: RedisCacheBuilder) -> Arc<Self> {
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

    fn manager(&self) -> Result<ConnectionManager, RedisError> {
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
    fn drop_manager(&self) {
        *self.manager.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A deletion that failed because the server is out of reach: kept for replay, and the
    /// breaker opened until it has been replayed, since the entry may still be there.
    fn defer(&self, deletion: Deletion, error: &CacheError) {
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

    fn health(&self) -> Health {
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
    async fn run<T, F>(
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
    async fn send<T, F>(
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

    async fn query<T: FromRedisValue>(&self, op: Op<'_>, cmd: &Cmd) -> Result<T, CacheError> {
        self.run(op, |mut manager| async move {
            cmd.query_async(&mut manager).await
        })
        .await
    }

    async fn pipeline(&self, op: Op<'_>, pipeline: &Pipeline) -> Result<(), CacheError> {
        self.run(op, |mut manager| async move {
            pipeline.query_async(&mut manager).await
        })
        .await
    }

    /// Deletes the keys matching `pattern`; with `spare_tags`, not tags' sets.
    async fn scan_and_unlink(
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
}

/// Replies that say the server cannot be used at all, whatever the command: wrong or missing
/// credentials, a server still loading its data, a replica without its primary, or a replica
/// reached instead of the primary (after a failover, until DNS or the proxy catches up).
fn store_unusable(error: &RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    matches!(
        error.kind(),
        ErrorKind::AuthenticationFailed
            | ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            )
    ) || matches!(error.code(), Some("NOAUTH" | "WRONGPASS"))
}

/// A connection that was up and broke, as opposed to one that could not be opened (retrying
/// that at once would fail the same way).
fn is_broken_connection(error: &RedisError) -> bool {
    error.is_connection_dropped() && !error.is_connection_refusal()
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the address: the URL may hold a password.
        f.debug_struct("RedisCache")
            .field(
                "addr",
                &self
                    .connection
                    .client
                    .get_connection_info()
                    .addr()
                    .to_string(),
            )
            .field("prefix", &self.prefix)
            .field("op_timeout", &self.connection.op_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// A cache at `url` with default settings; see [`RedisCacheBuilder::build`].
    ///
    /// # Errors
    /// An [`ErrorCode::Config`] error when `url` is not a valid Redis URL. An unreachable
    /// server is not an error here: the first operation connects.
    pub fn new(url: &str) -> Result<Self, CacheError> {
        Self::builder(url).build()
    }

    /// A builder for a prefix, deadlines and other settings.
    pub fn builder(url: impl Into<String>) -> RedisCacheBuilder {
        RedisCacheBuilder::new(url.into())
    }

    /// A view sharing this cache's connection, confined to keys under this view's prefix
    /// followed by `prefix`. Views only narrow: a handle to a namespace cannot make one that
    /// reaches keys outside it.
    #[must_use]
    pub fn with_prefix(&self, prefix: &str) -> Self {
        Self::from_parts(self.connection.clone(), &format!("{}{prefix}", self.prefix))
    }

    /// The prefix this view adds to every key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The deadline of each operation.
    pub fn op_timeout(&self) -> Duration {
        self.connection.op_timeout
    }

    fn from_parts(connection: Arc<Connection>, prefix: &str) -> Self {
        Self {
            connection,
            prefix: prefix.into(),
            escaped_prefix: glob::escape(prefix).into(),
            identity: Identity::fresh(),
        }
    }

    /// `key` under this view's prefix, if it is within the size limit.
    fn key<'a>(&'a self, key: &'a str) -> Result<PrefixedKey<'a>, CacheError> {
        self.connection.limits.check_key(self.prefix.len(), key)?;
        Ok(PrefixedKey {
            prefix: &self.prefix,
            key,
        })
    }

    /// `key` under this view's prefix, as the bytes of a deletion to replay.
    fn full_key(&self, key: &str) -> Vec<u8> {
        [self.prefix.as_bytes(), key.as_bytes()].concat()
    }

    /// Keeps a deletion that failed because the server is out of reach, for replay.
    fn deferred(&self, error: CacheError, deletion: impl FnOnce() -> Deletion) -> CacheError {
        if error.is_unavailable() {
            self.connection.defer(deletion(), &error);
            error.queued()
        } else {
            error
        }
    }

    /// How this cache is doing: its circuit breaker and its deletions waiting for replay.
    /// Shared by every clone and view; also [`Cache::health`].
    pub fn health(&self) -> Health {
        self.connection.health()
    }
}

/// A value read from the store as text; a lease marker is no value.
fn into_utf8(op: Op<'_>, value: Option<Vec<u8>>) -> Result<Option<String>, CacheError> {
    value
        .filter(|bytes| !LeaseToken::is_marker(bytes))
        .map(|bytes| String::from_utf8(bytes).map_err(|_| op.not_utf8()))
        .transpose()
}

impl Cache for RedisCache {
    /// Clones of a view share it; every view has its own, since views with different
    /// prefixes hold different entries.
    fn identity(&self) -> Identity {
        self.identity
    }

    fn health(&self) -> Health {
        self.connection.health()
    }

    fn delete_later(&self, key: &str, cause: &CacheError) -> bool {
        if !cause.is_unavailable() || self.key(key).is_err() {
            return false;
        }
        self.connection
            .defer(Deletion::Key(self.full_key(key)), cause);
        true
    }

    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let op = Op::on_key("GET", ErrorCode::Get, key);
        // Bytes first: redis-rs's own conversion error would quote the stored value.
        let value = self
            .connection
            .query(op, redis::cmd("GET").arg(self.key(key)?))
            .await?;
        into_utf8(op, value)
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        let op = Op::on_key("SET", ErrorCode::Set, key);
        self.connection.limits.check_value(key, value)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)?).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX")
                .arg(expiry::write_millis(ttl, ErrorCode::Set, key)?);
        }
        self.connection.query(op, &cmd).await
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let op = Op::on_key("UNLINK", ErrorCode::Delete, key)
            .not_resent()
            .deletion();
        let removed: u64 = self
            .connection
            .query(op, redis::cmd("UNLINK").arg(self.key(key)?))
            .await
            .map_err(|error| self.deferred(error, || Deletion::Key(self.full_key(key))))?;
        Ok(removed > 0)
    }

    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        let op = Op::on_key("EXISTS", ErrorCode::Exists, key);
        let found: u64 = self
            .connection
            .query(op, redis::cmd("EXISTS").arg(self.key(key)?))
            .await?;
        Ok(found > 0)
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        let op = Op::on_key("PEXPIRE", ErrorCode::Expire, key).not_resent();
        let millis = expiry::expire_millis(ttl, ErrorCode::Expire, key)?;
        let mut cmd = redis::cmd("PEXPIRE");
        cmd.arg(self.key(key)?).arg(millis);
        self.connection.query(op, &cmd).await
    }

    async fn increment(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        let op = Op::on_key("INCRBY", ErrorCode::Increment, key).not_resent();
        let mut cmd = redis::cmd("INCRBY");
        cmd.arg(self.key(key)?).arg(amount);
        self.connection.query(op, &cmd).await
    }

    async fn decrement(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        let op = Op::on_key("DECRBY", ErrorCode::Increment, key).not_resent();
        let mut cmd = redis::cmd("DECRBY");
        cmd.arg(self.key(key)?).arg(amount);
        self.connection.query(op, &cmd).await
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        let op = Op::on_key("PTTL", ErrorCode::Ttl, key);
        let millis: i64 = self
            .connection
            .query(op, redis::cmd("PTTL").arg(self.key(key)?))
            .await?;
        // -1: no TTL; -2: no key.
        Ok(u64::try_from(millis).ok().map(Duration::from_millis))
    }

    async fn flush(&self) -> Result<(), CacheError> {
        if self.prefix.is_empty() {
            // ASYNC: the keys are gone at once for every client, but the server frees the
            // memory in the background instead of blocking for as long as that takes.
            let op = Op::plain("FLUSHDB", ErrorCode::Flush).deletion();
            self.connection
                .query(op, redis::cmd("FLUSHDB").arg("ASYNC"))
                .await
                .map_err(|error| self.deferred(error, || Deletion::Everything("*".to_owned())))
        } else {
            let op = Op::plain("SCAN/UNLINK", ErrorCode::Flush).deletion();
            let everything = format!("{}*", self.escaped_prefix);
            self.connection
                .scan_and_unlink(op, &everything, false)
                .await
                .map(drop)
                .map_err(|error| self.deferred(error, || Deletion::Everything(everything)))
        }
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let op = Op::plain("PING", ErrorCode::Connection);
        let _: String = self.connection.query(op, &redis::cmd("PING")).await?;
        Ok(())
    }

    async fn delete_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
        let op = Op::on_pattern("SCAN/UNLINK", ErrorCode::Delete, pattern).deletion();
        let full_pattern = format!("{}{pattern}", self.escaped_prefix);
        self.connection
            .scan_and_unlink(op, &full_pattern, true)
            .await
            .map_err(|error| self.deferred(error, || Deletion::Pattern(full_pattern)))
    }

    async fn get_many(&self, keys: &[&str]) -> Result<HashMap<String, Option<String>>, CacheError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let op = Op::plain("MGET", ErrorCode::MultiGet);
        let mut cmd = redis::cmd("MGET");
        for &key in keys {
            cmd.arg(self.key(key)?);
        }
        let values: Vec<Option<Vec<u8>>> = self.connection.query(op, &cmd).await?;
        keys.iter()
            .zip(values)
            .map(|(&key, value)| {
                Ok((
                    key.to_owned(),
                    into_utf8(Op::on_key("MGET", ErrorCode::MultiGet, key), value)?,
                ))
            })
            .collect()
    }

    async fn set_many(
        &self,
        entries: &[(&str, &str)],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let Some(&(first_key, _)) = entries.first() else {
            return Ok(());
        };
        match ttl {
            None => {
                let op = Op::plain("MSET", ErrorCode::MultiSet);
                let mut cmd = redis::cmd("MSET");
                for &(key, value) in entries {
                    self.connection.limits.check_value(key, value)?;
                    cmd.arg(self.key(key)?).arg(value);
                }
                self.connection.query(op, &cmd).await
            }
            Some(ttl) => {
                let millis = expiry::write_millis(ttl, ErrorCode::MultiSet, first_key)?;
                let op = Op::plain("SET PX pipeline", ErrorCode::MultiSet);
                let mut pipeline = redis::pipe();
                for &(key, value) in entries {
                    self.connection.limits.check_value(key, value)?;
                    pipeline
                        .cmd("SET")
                        .arg(self.key(key)?)
                        .arg(value)
                        .arg("PX")
                        .arg(millis)
                        .ignore();
                }
                self.connection.pipeline(op, &pipeline).await
            }
        }
    }

    async fn lookup(&self, key: &str) -> Result<Lookup, CacheError> {
        self.lease_lookup(key).await
    }

    async fn try_lease(
        &self,
        key: &str,
        lease: Duration,
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<Lease, CacheError> {
        self.lease_take(key, lease, ttl, tags).await
    }

    async fn set_leased(
        &self,
        key: &str,
        token: &LeaseToken,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        self.lease_store(key, token, value, ttl).await
    }

    async fn release_lease(&self, key: &str, token: &LeaseToken) -> Result<(), CacheError> {
        self.lease_release(key, token).await
    }

    fn release_lease_detached(&self, key: &str, token: &LeaseToken) -> Option<DetachedRelease> {
        let (cache, key, token) = (self.clone(), key.to_owned(), token.clone());
        Some(Box::pin(
            async move { cache.release_lease(&key, &token).await },
        ))
    }

    async fn invalidate_tags(&self, tags: &[&str]) -> Result<u64, CacheError> {
        self.tags_invalidate(tags).await
    }
}
