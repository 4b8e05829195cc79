//! Leases on Redis: a marker value in the key itself, set with `NX` and a short expiry,
//! replaced by the loaded value only through a script that checks the marker first.
//!
//! The marker lives in the key, not in a key of its own, so a hit stays one `GET`, every
//! deletion of the key (`UNLINK`, `SCAN`/`UNLINK`, `FLUSHDB`, a tag invalidation) removes
//! the lease with it, and each script touches one key, passed in `KEYS`: on a cluster it
//! stays in one slot.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{Script, Value};

use super::tags::{self, TagKey};
use super::{Op, RedisCache, into_utf8};
use crate::error::{CacheError, ErrorCode};
use crate::expiry;
use crate::lease::{DEFAULT_LEASE, Lease, LeaseToken, Lookup};

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

impl RedisCache {
    pub(super) async fn lease_lookup(&self, key: &str) -> Result<Lookup, CacheError> {
        let op = Op::on_key("GET", ErrorCode::Get, key).in_view(&self.prefix);
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

    /// One round trip: `SET key marker NX PX lease`, and for each tag a one-key script
    /// that adds the key to the tag's set and gives the set an expiry that outlives any
    /// value stored within the lease.
    pub(super) async fn lease_take(
        &self,
        key: &str,
        lease: Duration,
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<Lease, CacheError> {
        // Not resent: a second `SET NX` after a lost reply would find our own marker and
        // answer that someone else holds the lease.
        let op = Op::on_key("SET NX/tag", ErrorCode::Set, key)
            .in_view(&self.prefix)
            .not_resent();
        let lease_ms = expiry::write_millis(lease, ErrorCode::Set, key)?;
        // A tag's set lives as long as any value stored under it within this lease.
        let keep_ms = lease_ms.saturating_add(expiry::record_millis(ttl));
        let token = LeaseToken::new();
        let mut pipeline = redis::pipe();
        // Each reply on its own: an error in a tag's script must not hide whether the
        // `SET` placed the marker, which must then be given back.
        pipeline.ignore_errors();
        pipeline
            .cmd("SET")
            .arg(self.key(key)?)
            .arg(token.marker())
            .arg("NX")
            .arg("PX")
            .arg(lease_ms);
        for &tag in tags {
            pipeline
                .cmd("EVAL")
                .arg(tags::ADD)
                .arg(1)
                .arg(TagKey::new(&self.prefix, tag))
                .arg(tags::GENERATION)
                .arg(self.key(key)?)
                .arg(keep_ms);
        }
        let replies: Vec<Value> = match self.connection.pipeline_query(op, &pipeline).await {
            Ok(replies) => replies,
            Err(error) => {
                if error.is_timeout() {
                    // The `SET` may still land: give the lease back once it can be sent,
                    // so that others do not wait for it to expire.
                    self.release_later(key, token, lease);
                }
                return Err(error);
            }
        };
        let mut replies = replies.into_iter();
        let granted = match replies.next() {
            Some(Value::Okay) => true,
            Some(Value::Nil) => false,
            Some(Value::ServerError(error)) => return Err(op.redis_error(error.into())),
            other => {
                return Err(op.error(
                    ErrorCode::Set,
                    format!("unexpected reply to SET NX: {other:?}"),
                ));
            }
        };
        if let Some(error) = replies.find_map(|reply| match reply {
            Value::ServerError(error) => Some(error),
            _ => None,
        }) {
            // The key is not recorded under every tag: a value stored now would escape
            // that tag's invalidations, so the lease is given back and the call fails open.
            if granted {
                let _ = self.lease_release(key, &token).await;
            }
            return Err(op.redis_error(error.into()));
        }
        Ok(if granted {
            Lease::Granted(token)
        } else {
            Lease::Taken
        })
    }

    /// Gives `token`'s lease back on a task of its own, for a write whose reply did not
    /// come: the release deletes the key only if it still holds this lease's marker. While
    /// Redis is out of reach it tries again, with growing pauses, until the lease would
    /// have expired anyway (`lease`).
    fn release_later(&self, key: &str, token: LeaseToken, lease: Duration) {
        let (cache, key) = (self.clone(), key.to_owned());
        self.connection.spawn(async move {
            let give_up = tokio::time::Instant::now() + lease;
            let mut pause = Duration::from_millis(50);
            while let Err(error) = cache.lease_release(&key, &token).await {
                if !error.is_unavailable() || tokio::time::Instant::now() + pause > give_up {
                    return;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        });
    }

    pub(super) async fn lease_store(
        &self,
        key: &str,
        token: &LeaseToken,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let op = Op::on_key("EVALSHA store-if-leased", ErrorCode::Set, key).in_view(&self.prefix);
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
        let stored: u8 = match self.connection.invoke(op, &invocation).await {
            Ok(stored) => stored,
            Err(error) => {
                if error.is_timeout() {
                    // If the store did not land, the marker would hold others back until
                    // it expires; if it did, the release finds no marker and does nothing.
                    self.release_later(key, token.clone(), DEFAULT_LEASE);
                }
                return Err(error);
            }
        };
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
