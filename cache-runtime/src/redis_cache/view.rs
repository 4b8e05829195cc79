//! The view of a Redis cache that callers hold (its prefix and key rendering) and its
//! implementation of the port.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::RedisCacheBuilder;
use super::connection::{Changing, Connection};
use super::key::PrefixedKey;
use super::op::Op;
use super::pending::Deletion;
use super::tags::TagKey;
use crate::error::{CacheError, ErrorCode};
use crate::expiry;
use crate::health::Health;
use crate::lease::{LeaseToken, Leases};
use crate::limits::Limits;
use crate::outage::{Invalidation, Outage};
use crate::port::{Cache, KeyValue, StoreId};
use crate::rate_limit::RateLimits;
use crate::view::View;

/// A cache in Redis: the production adapter.
///
/// All clones, and all views made with [`with_prefix`](Self::with_prefix), share one
/// multiplexed connection (a redis-rs `MultiplexedConnection`): concurrent calls are
/// pipelined on it rather than checking connections out of a pool. It is opened on first
/// use, not at construction, so an application starts even while Redis is down, and it
/// reopens by itself after the connection breaks. It is driven on the runtime of the call
/// that opened it, so a hit costs no wake-up across threads; when that runtime ends, the
/// next call, from any runtime, opens a new one. Recovery and detached work (a lease given
/// back from a `Drop`) run on a thread of the cache's own (started on first use, stopped
/// when the last clone is dropped), so a cache in a `static` outlives the runtimes that use
/// it.
///
/// Every round trip has a deadline ([`RedisCacheBuilder::op_timeout`], default
/// [`DEFAULT_OP_TIMEOUT`](super::DEFAULT_OP_TIMEOUT)) covering the wait for a connection
/// too, so a call never waits on a reconnect: while the server is down a call fails with
/// [`ErrorCode::Connection`] or [`ErrorCode::Timeout`] within that deadline. After a few such
/// failures in a row the circuit breaker opens and calls fail at once with
/// [`ErrorCode::CircuitOpen`] until a background probe finds the server back. Deletions
/// that fail are kept, keep the keys they cover from the cache meanwhile, and are replayed
/// as soon as the server takes them (see [`RedisCacheBuilder::failure_threshold`],
/// [`RedisCacheBuilder::max_pending_invalidations`] and [`RedisCache::health`]). Every operation
/// is one round trip except `delete_pattern` and a prefixed `flush`, which take one per
/// `SCAN` batch and so grow with the size of the keyspace.
///
/// On a Redis Cluster ([`RedisCache::cluster_builder`]) the shared connection is redis-rs's
/// cluster connection, which keeps one multiplexed connection per node; everything above
/// (deadlines, the breaker, replayed deletions, the first tier) is the same.
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
    pub(super) connection: Arc<Connection>,
    pub(super) view: View,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the address: the URL may hold a password.
        f.debug_struct("RedisCache")
            .field("addr", &self.connection.target.describe())
            .field("prefix", &self.view.prefix())
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

    /// A cache on the Redis Cluster that `nodes` (seed node URLs, such as
    /// `redis://10.0.0.1:6379`; one reachable node is enough) belong to, with default
    /// settings; see [`cluster_builder`](Self::cluster_builder).
    ///
    /// # Errors
    /// An [`ErrorCode::Config`] error when `nodes` is empty, a URL is not valid, or the
    /// seeds' credentials differ. An unreachable cluster is not an error here: the first
    /// operation connects.
    #[cfg(feature = "cluster")]
    pub fn cluster(nodes: &[&str]) -> Result<Self, CacheError> {
        Self::cluster_builder(nodes).build()
    }

    /// The same builder as [`builder`](Self::builder), with every option, for a Redis
    /// Cluster: the cache it builds is a `RedisCache` like any other, so application code
    /// does not change.
    ///
    /// redis-rs's cluster client (`cluster-async`) maps slots to nodes, follows `MOVED` and
    /// `ASK`, and reconnects after a failover; its retries are kept within each operation's
    /// deadline. What differs from one server: a batch of keys (`get_many`, `set_many`,
    /// batched hits, a tag's deletions) goes out as one command or pipeline per slot, all at
    /// once; `delete_pattern` and a prefixed `flush` scan every primary; the first tier
    /// tracks keys on every node connection and is cleared when any of them is lost.
    #[cfg(feature = "cluster")]
    pub fn cluster_builder(nodes: &[&str]) -> RedisCacheBuilder {
        RedisCacheBuilder::cluster(nodes)
    }

    /// A view sharing this cache's connection, confined to keys under this view's prefix
    /// followed by `prefix`. Views only narrow: a handle to a namespace cannot make one that
    /// reaches keys outside it.
    #[must_use]
    pub fn with_prefix(&self, prefix: &str) -> Self {
        Self {
            connection: Arc::clone(&self.connection),
            view: self.view.narrowed(prefix),
        }
    }

    /// The prefix this view adds to every key.
    pub fn prefix(&self) -> &str {
        self.view.prefix()
    }

    /// The deadline of each operation.
    pub fn op_timeout(&self) -> Duration {
        self.connection.op_timeout
    }

    pub(super) fn from_parts(connection: Arc<Connection>, prefix: &str, limits: Limits) -> Self {
        Self {
            connection,
            view: View::new(prefix, limits),
        }
    }

    /// `key` under this view's prefix, if it is within the size limit.
    pub(super) fn key<'a>(&'a self, key: &'a str) -> Result<PrefixedKey<'a>, CacheError> {
        self.view.check_key(key)?;
        Ok(PrefixedKey {
            prefix: self.view.prefix(),
            key,
        })
    }

    /// `key` under this view's prefix, as the bytes of a deletion to replay.
    pub(super) fn full_key(&self, key: &str) -> Vec<u8> {
        [self.view.prefix().as_bytes(), key.as_bytes()].concat()
    }

    /// Keeps a deletion that failed because the server is out of reach, for replay.
    pub(super) fn deferred(
        &self,
        error: CacheError,
        deletion: impl FnOnce() -> Deletion,
    ) -> CacheError {
        if self.connection.defer(deletion(), &error) {
            error.queued()
        } else {
            error
        }
    }

    /// Fails if a waiting deletion covers `key` (for operations on several keys; those on
    /// one are checked by the connection, see `Op::in_view`).
    fn unblocked(&self, op: Op<'_>, key: &str) -> Result<(), CacheError> {
        self.connection.admit_key(op, self.view.prefix(), key)
    }

    /// How this cache is doing: its circuit breaker and its deletions waiting for replay.
    /// Shared by every clone and view; also [`Cache::health`].
    pub fn health(&self) -> Health {
        self.connection.health()
    }

    /// What the first tier has done, if this cache has one (see
    /// [`RedisCacheBuilder::local_tier`]).
    pub fn local_tier_stats(&self) -> Option<super::LocalTierStats> {
        self.connection.tier.as_ref().map(|tier| tier.stats())
    }

    /// This process is about to change `key` of this view (`None`: every key, for a flush);
    /// see [`Connection::changing`](super::connection::Connection::changing).
    pub(super) fn changing(&self, key: Option<&str>) -> Option<Changing<'_>> {
        self.connection
            .changing(|| key.map(|key| vec![self.full_key(key)]))
    }
}

/// A value read from the store as text; a lease marker is no value.
pub(super) fn into_utf8(op: Op<'_>, value: Option<Vec<u8>>) -> Result<Option<String>, CacheError> {
    value
        .filter(|bytes| !LeaseToken::is_marker(bytes))
        .map(|bytes| String::from_utf8(bytes).map_err(|_| op.not_utf8()))
        .transpose()
}

impl Outage for RedisCache {
    fn health(&self) -> Health {
        self.connection.health()
    }

    fn queue_deletion(&self, invalidation: Invalidation<'_>, cause: &CacheError) -> bool {
        if !cause.is_unavailable() {
            return false;
        }
        // A key is dropped from the first tier at once; the keys of a pattern or tag are
        // dropped when the replay deletes them, and until then the waiting deletion keeps
        // the tier from serving at all.
        let _changing = match invalidation {
            Invalidation::Key(key) => self.changing(Some(key)),
            Invalidation::Pattern(_) | Invalidation::Tag(_) => None,
        };
        let deletion = match invalidation {
            Invalidation::Key(key) => {
                if self.key(key).is_err() {
                    return false;
                }
                Deletion::Key(self.full_key(key))
            }
            Invalidation::Pattern(pattern) => Deletion::Pattern(self.view.full_pattern(pattern)),
            Invalidation::Tag(tag) => Deletion::Tag(TagKey::new(self.view.prefix(), tag).bytes()),
        };
        self.connection.defer(deletion, cause)
    }
}

impl Cache for RedisCache {
    /// Clones of a view share it; every view has its own, since views with different
    /// prefixes hold different entries.
    fn store_id(&self) -> StoreId {
        self.view.store_id()
    }

    fn leases(&self) -> Option<&dyn Leases> {
        Some(self)
    }

    fn outage(&self) -> Option<&dyn Outage> {
        Some(self)
    }

    fn rate_limits(&self) -> Option<&dyn RateLimits> {
        Some(self)
    }

    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let op = Op::on_key("GET", ErrorCode::Get, key).in_view(self.view.prefix());
        let prefixed = self.key(key)?;
        let Some(tier) = &self.connection.tier else {
            let read = self.connection.read(op, prefixed, false).await?;
            return into_utf8(op, read.value);
        };
        let full: Cow<'_, str> = match self.view.prefix() {
            "" => Cow::Borrowed(key),
            prefix => Cow::Owned([prefix, key].concat()),
        };
        // Only while the breaker is closed and no deletion waits: then the connections are
        // known to answer, and no deletion that missed the server covers the key.
        if self.connection.all_clear()
            && let Some(value) = tier.get(&full, || self.connection.links_open())
        {
            // A hit touches nothing of Tokio's: without this, a task looping over hits
            // would never yield, and starve the connection's reader on its thread.
            tokio::task::coop::consume_budget().await;
            return Ok(Some(String::from(&*value)));
        }
        let snapshot = tier.snapshot(full.as_bytes());
        let read = self.connection.read(op, prefixed, true).await?;
        // Markers are no values: they are never kept.
        let value = into_utf8(op, read.value)?;
        if let Some(value) = &value
            && self.connection.all_clear()
        {
            tier.insert(snapshot, &full, value, read.pttl);
        }
        Ok(value)
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        let op = Op::on_key("SET", ErrorCode::Set, key).in_view(self.view.prefix());
        self.view.limits.check_value(key, value)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)?).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX")
                .arg(expiry::write_millis(ttl, ErrorCode::Set, key)?);
        }
        let _changing = self.changing(Some(key));
        self.connection.query(op, &cmd).await
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let op = Op::on_key("UNLINK", ErrorCode::Delete, key)
            .not_resent()
            .deletion();
        let _changing = self.changing(Some(key));
        // Within the size limit, or not sent.
        self.key(key)?;
        let removed = self
            .connection
            .unlink(op, &[self.full_key(key)])
            .await
            .map_err(|error| self.deferred(error, || Deletion::Key(self.full_key(key))))?;
        Ok(removed > 0)
    }

    async fn delete_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
        let op = Op::on_pattern("SCAN/UNLINK", ErrorCode::Delete, pattern).deletion();
        let full_pattern = self.view.full_pattern(pattern);
        self.connection
            .scan_and_unlink(op, &full_pattern, true)
            .await
            .map_err(|error| self.deferred(error, || Deletion::Pattern(full_pattern)))
    }
}

impl KeyValue for RedisCache {
    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        let op = Op::on_key("EXISTS", ErrorCode::Exists, key).in_view(self.view.prefix());
        let found: u64 = self
            .connection
            .query(op, redis::cmd("EXISTS").arg(self.key(key)?))
            .await?;
        Ok(found > 0)
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        let op = Op::on_key("PEXPIRE", ErrorCode::Expire, key)
            .in_view(self.view.prefix())
            .not_resent();
        let millis = expiry::expire_millis(ttl, ErrorCode::Expire, key)?;
        let mut cmd = redis::cmd("PEXPIRE");
        cmd.arg(self.key(key)?).arg(millis);
        let _changing = self.changing(Some(key));
        self.connection.query(op, &cmd).await
    }

    async fn increment(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        let op = Op::on_key("INCRBY", ErrorCode::Increment, key)
            .in_view(self.view.prefix())
            .not_resent();
        let mut cmd = redis::cmd("INCRBY");
        cmd.arg(self.key(key)?).arg(amount);
        let _changing = self.changing(Some(key));
        self.connection.query(op, &cmd).await
    }

    async fn decrement(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
        let op = Op::on_key("DECRBY", ErrorCode::Increment, key)
            .in_view(self.view.prefix())
            .not_resent();
        let mut cmd = redis::cmd("DECRBY");
        cmd.arg(self.key(key)?).arg(amount);
        let _changing = self.changing(Some(key));
        self.connection.query(op, &cmd).await
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        let op = Op::on_key("PTTL", ErrorCode::Ttl, key).in_view(self.view.prefix());
        let millis: i64 = self
            .connection
            .query(op, redis::cmd("PTTL").arg(self.key(key)?))
            .await?;
        // -1: no TTL; -2: no key.
        Ok(u64::try_from(millis).ok().map(Duration::from_millis))
    }

    async fn flush(&self) -> Result<(), CacheError> {
        let _changing = self.changing(None);
        if self.view.prefix().is_empty() {
            // ASYNC: the keys are gone at once for every client, but the server frees the
            // memory in the background instead of blocking for as long as that takes.
            let op = Op::plain("FLUSHDB", ErrorCode::Flush).deletion();
            self.connection
                .query(op, redis::cmd("FLUSHDB").arg("ASYNC"))
                .await
                .map_err(|error| self.deferred(error, || Deletion::Everything("*".to_owned())))
        } else {
            let op = Op::plain("SCAN/UNLINK", ErrorCode::Flush).deletion();
            let everything = self.view.full_pattern("*");
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

    async fn get_many(&self, keys: &[&str]) -> Result<HashMap<String, Option<String>>, CacheError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let op = Op::plain("MGET", ErrorCode::MultiGet);
        let mut cmd = redis::cmd("MGET");
        for &key in keys {
            cmd.arg(self.key(key)?);
            self.unblocked(op, key)?;
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
        let _changing = self
            .connection
            .changing(|| Some(entries.iter().map(|&(key, _)| self.full_key(key)).collect()));
        match ttl {
            None => {
                let op = Op::plain("MSET", ErrorCode::MultiSet);
                let mut cmd = redis::cmd("MSET");
                for &(key, value) in entries {
                    self.view.limits.check_value(key, value)?;
                    cmd.arg(self.key(key)?).arg(value);
                    self.unblocked(op, key)?;
                }
                self.connection.query(op, &cmd).await
            }
            Some(ttl) => {
                let millis = expiry::write_millis(ttl, ErrorCode::MultiSet, first_key)?;
                let op = Op::plain("SET PX pipeline", ErrorCode::MultiSet);
                let mut batch = self.connection.new_batch();
                for &(key, value) in entries {
                    self.view.limits.check_value(key, value)?;
                    self.unblocked(op, key)?;
                    let mut set = redis::cmd("SET");
                    set.arg(self.key(key)?).arg(value).arg("PX").arg(millis);
                    batch.add(&self.full_key(key), set);
                }
                self.connection.batch(op, &batch).await.map(drop)
            }
        }
    }
}
