//! Leases on Redis: a marker value in the key itself, set with `NX` and a short expiry,
//! replaced by the loaded value only through a script that checks the marker first.
//!
//! The marker lives in the key, not in a key of its own, so a hit stays one `GET`, every
//! deletion of the key (`UNLINK`, `SCAN`/`UNLINK`, `FLUSHDB`, a tag invalidation) removes
//! the lease with it, and each script touches one key, passed in `KEYS`: on a cluster it
//! stays in one slot.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{FromRedisValue, Pipeline, Script, ScriptInvocation};

use super::tags::{self, TagKey};
use super::{Connection, Op, RedisCache, into_utf8};
use crate::error::{CacheError, ErrorCode};
use crate::expiry;
use crate::lease::{Lease, LeaseToken, Lookup};

/// Stores ARGV[2] at KEYS[1] (for ARGV[3] milliseconds; none when empty) if KEYS[1] still
/// holds the marker ARGV[1]. Returns 1 if it stored.
static STORE_IF_LEASED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then
            return 0
        end
        if ARGV[3] == '' then
            redis.call('SET', KEYS[1], ARGV[2])
        else
            redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        end
        return 1
        ",
    )
});

/// Deletes KEYS[1] if it still holds the marker ARGV[1].
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            return redis.call('DEL', KEYS[1])
        end
        return 0
        ",
    )
});

impl Connection {
    /// Runs a script under the operation deadline: `EVALSHA`, then on `NOSCRIPT` (a fresh
    /// or restarted server) `SCRIPT LOAD` and `EVALSHA` again, as redis-rs does.
    async fn invoke<T: FromRedisValue>(
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

impl RedisCache {
    pub(super) async fn lease_lookup(&self, key: &str) -> Result<Lookup, CacheError> {
        let op = Op::on_key("GET", ErrorCode::Get, key);
        let value: Option<Vec<u8>> = self
            .connection
            .query(op, redis::cmd("GET").arg(self.key(key)?))
            .await?;
        Ok(match value {
            Some(bytes) if LeaseToken::is_marker(&bytes) => Lookup::Loading,
            value => match into_utf8(op, value)? {
                Some(value) => Lookup::Hit(value),
                None => Lookup::Missing,
            },
        })
    }

    /// One round trip: `SET key marker NX PX lease`, and for each tag the key added to its
    /// set (a one-key script) and
    /// an expiry that outlives any value stored within the lease.
    pub(super) async fn lease_take(
        &self,
        key: &str,
        lease: Duration,
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<Lease, CacheError> {
        // Not resent: a second `SET NX` after a lost reply would find our own marker and
        // answer that someone else holds the lease.
        let op = Op::on_key("SET NX/tag", ErrorCode::Set, key).not_resent();
        let lease_ms = expiry::write_millis(lease, ErrorCode::Set, key)?;
        // Every tag set has an expiry (for "no TTL", the longest TTL accepted), so `NX`
        // below can tell a new set from an existing one.
        let keep_ms = lease_ms.saturating_add(expiry::record_millis(ttl));
        let token = LeaseToken::new();
        let mut pipeline = redis::pipe();
        pipeline
            .cmd("SET")
            .arg(self.key(key)?)
            .arg(token.marker())
            .arg("NX")
            .arg("PX")
            .arg(lease_ms);
        for &tag in tags {
            let tag = TagKey::new(&self.prefix, tag);
            pipeline
                .cmd("EVAL")
                .arg(tags::ADD)
                .arg(1)
                .arg(tag)
                .arg(tags::GENERATION)
                .arg(self.key(key)?)
                .ignore();
            // NX gives a new set its expiry; GT lengthens an existing one, never shortens.
            for condition in ["NX", "GT"] {
                pipeline
                    .cmd("PEXPIRE")
                    .arg(tag)
                    .arg(keep_ms)
                    .arg(condition)
                    .ignore();
            }
        }
        let (set,): (Option<String>,) = self.connection.pipeline_query(op, &pipeline).await?;
        Ok(match set {
            Some(_) => Lease::Granted(token),
            None => Lease::Taken,
        })
    }

    pub(super) async fn lease_store(
        &self,
        key: &str,
        token: &LeaseToken,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let op = Op::on_key("EVALSHA store-if-leased", ErrorCode::Set, key);
        self.connection.limits.check_value(key, value)?;
        let ttl_ms = ttl
            .map(|ttl| expiry::write_millis(ttl, ErrorCode::Set, key))
            .transpose()?;
        let mut invocation = STORE_IF_LEASED.prepare_invoke();
        invocation
            .key(self.key(key)?)
            .arg(token.marker())
            .arg(value)
            .arg(ttl_ms.map(|ms| ms.to_string()).unwrap_or_default());
        let stored: u8 = self.connection.invoke(op, &invocation).await?;
        Ok(stored == 1)
    }

    pub(super) async fn lease_release(
        &self,
        key: &str,
        token: &LeaseToken,
    ) -> Result<(), CacheError> {
        let op = Op::on_key("EVALSHA release", ErrorCode::Delete, key);
        let mut invocation = RELEASE.prepare_invoke();
        invocation.key(self.key(key)?).arg(token.marker());
        let _: u8 = self.connection.invoke(op, &invocation).await?;
        Ok(())
    }
}
