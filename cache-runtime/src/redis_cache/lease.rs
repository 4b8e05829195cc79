//! Leases on Redis: a marker value in the key itself, set with `SET ... NX GET` and a short
//! expiry, replaced by the loaded value only through a script that checks the marker first.
//!
//! The marker lives in the key, not in a key of its own, so a hit stays one `GET`, every
//! deletion of the key (`UNLINK`, `SCAN`/`UNLINK`, `FLUSHDB`, a tag invalidation) removes
//! the lease with it, and each script touches one key, passed in `KEYS`: on a cluster it
//! stays in one slot. `SET NX GET` (Redis 7.0 and later) answers what the key held when it
//! did not set the marker, so a cold miss is three commands: the read, the lease and the
//! conditional store. The scripts go as `EVAL` (the server caches them by their digest), so
//! a flushed script cache costs no extra round trip.

use std::time::Duration;

use redis::Value;

use super::RedisCache;
use super::batch::Batch;
use super::op::Op;
use super::script::{Lua, reply_code};
use super::tags::{self, TagKey};
use crate::error::{CacheError, ErrorCode};
use crate::expiry;
use crate::lease::{Lease, LeaseToken, Leases};
use crate::port::BoxFuture;

/// Stores ARGV[2] at KEYS[1] (for ARGV[3] milliseconds; none when empty) if KEYS[1] still
/// holds the marker ARGV[1]. Returns 1 if it stored.
static STORE_IF_LEASED: Lua = Lua::new(
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
);

/// Deletes KEYS[1] if it still holds the marker ARGV[1].
static RELEASE: Lua = Lua::new(
    r"
    if redis.call('GET', KEYS[1]) == ARGV[1] then
        return redis.call('DEL', KEYS[1])
    end
    return 0
    ",
);

/// The first pause, and the longest, between two attempts to give a lease back while Redis
/// is out of reach.
const RELEASE_RETRY: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(1));

impl Leases for RedisCache {
    fn try_lease<'a>(
        &'a self,
        key: &'a str,
        token: &'a LeaseToken,
        lease: Duration,
        ttl: Option<Duration>,
        tags: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Lease, CacheError>> {
        Box::pin(self.lease_take(key, token, lease, ttl, tags))
    }

    fn set_leased<'a>(
        &'a self,
        key: &'a str,
        token: &'a LeaseToken,
        value: &'a str,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<bool, CacheError>> {
        Box::pin(self.lease_store(key, token, value, ttl))
    }

    fn release(&self, key: &str, token: &LeaseToken, lease: Duration) {
        self.release_later(key, token.clone(), lease);
    }

    fn record_tags<'a>(
        &'a self,
        key: &'a str,
        ttl: Option<Duration>,
        tags: &'a [&'a str],
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            if tags.is_empty() {
                return Ok(());
            }
            let op = Op::on_key("EVAL tag-add", ErrorCode::Set, key).in_view(self.view.prefix());
            let mut batch = self.connection.new_batch();
            self.add_to_tags(&mut batch, key, expiry::record_millis(ttl), tags)?;
            self.connection.batch(op, &batch).await.map(drop)
        })
    }

    fn invalidate_tags<'a>(
        &'a self,
        tags: &'a [&'a str],
    ) -> BoxFuture<'a, Result<u64, CacheError>> {
        Box::pin(self.tags_invalidate(tags))
    }
}

impl RedisCache {
    /// One round trip: `SET key marker NX GET PX lease`, and for each tag a one-key script
    /// that adds the key to the tag's set and gives the set an expiry that outlives any
    /// value stored within the lease.
    async fn lease_take(
        &self,
        key: &str,
        token: &LeaseToken,
        lease: Duration,
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<Lease, CacheError> {
        // Resendable: a second `SET NX GET` after a lost reply finds the caller's own marker,
        // which the caller reads as granted.
        let op = Op::on_key("SET NX GET/tag", ErrorCode::Set, key).in_view(self.view.prefix());
        let lease_ms = expiry::write_millis(lease, ErrorCode::Set, key)?;
        // A tag's set lives as long as any value stored under it within this lease.
        let keep_ms = lease_ms.saturating_add(expiry::record_millis(ttl));
        let mut set = redis::cmd("SET");
        set.arg(self.key(key)?)
            .arg(token.marker())
            .arg("NX")
            .arg("GET")
            .arg("PX")
            .arg(lease_ms);
        if tags.is_empty() {
            return match self.connection.query::<Option<Vec<u8>>>(op, &set).await {
                Ok(held) => Ok(lease_of(held, token)),
                Err(error) if reply_code(&error) == Some("WRONGTYPE") => Ok(Lease::Foreign),
                Err(error) => Err(error),
            };
        }
        // Each reply on its own: an error in a tag's script must not hide whether the `SET`
        // placed the marker, which must then be given back.
        let mut batch = self.connection.new_batch();
        batch.add(&self.full_key(key), set);
        self.add_to_tags(&mut batch, key, keep_ms, tags)?;
        let replies: Vec<Value> = self.connection.batch_replies(op, &batch).await?;
        let mut replies = replies.into_iter();
        let lease = match replies.next() {
            Some(Value::Nil | Value::Okay) => Lease::Granted,
            Some(Value::BulkString(held)) => lease_of(Some(held), token),
            // Another Redis type at the key: `SET ... GET` refuses to replace it.
            Some(Value::ServerError(error)) if error.code() == "WRONGTYPE" => Lease::Foreign,
            Some(Value::ServerError(error)) => return Err(op.redis_error(error.into())),
            other => {
                return Err(op.error(
                    ErrorCode::Set,
                    format!("unexpected reply to SET NX GET: {other:?}"),
                ));
            }
        };
        let granted = lease == Lease::Granted;
        if let Some(error) = replies.find_map(|reply| match reply {
            Value::ServerError(error) => Some(error),
            _ => None,
        }) {
            // The key is not recorded under every tag: a value stored now would escape that
            // tag's invalidations, so the lease goes back and the call fails open.
            if granted {
                self.release_later(key, token.clone(), Duration::from_millis(lease_ms));
            }
            return Err(op.redis_error(error.into()));
        }
        Ok(lease)
    }

    /// Adds the scripts that record `key` under each of `tags` for `keep_ms` to `batch`.
    fn add_to_tags(
        &self,
        batch: &mut Batch,
        key: &str,
        keep_ms: u64,
        tags: &[&str],
    ) -> Result<(), CacheError> {
        for &tag in tags {
            let set = TagKey::new(self.view.prefix(), tag).bytes();
            let mut add = redis::cmd("EVAL");
            add.arg(tags::ADD)
                .arg(1)
                .arg(&set)
                .arg(tags::GENERATION)
                .arg(self.key(key)?)
                .arg(keep_ms);
            batch.add(&set, add);
        }
        Ok(())
    }

    async fn lease_store(
        &self,
        key: &str,
        token: &LeaseToken,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let _changing = self.changing(Some(key));
        // Not resent: the first may have stored, and the second would then answer "no
        // marker", reporting a stored value as not stored.
        let op = Op::on_key("EVALSHA store-if-leased", ErrorCode::Set, key)
            .in_view(self.view.prefix())
            .not_resent();
        self.view.limits.check_value(key, value)?;
        let ttl_ms = ttl
            .map(|ttl| expiry::write_millis(ttl, ErrorCode::Set, key))
            .transpose()?;
        let key = self.key(key)?;
        let ttl_ms = ttl_ms.map(|ms| ms.to_string()).unwrap_or_default();
        let stored: u8 = self
            .eval(op, &STORE_IF_LEASED, |cmd| {
                cmd.arg(key).arg(token.marker()).arg(value).arg(&ttl_ms);
            })
            .await?;
        Ok(stored == 1)
    }

    async fn lease_release(&self, key: &str, token: &LeaseToken) -> Result<(), CacheError> {
        let op = Op::on_key("EVALSHA release", ErrorCode::Delete, key).in_view(self.view.prefix());
        let key = self.key(key)?;
        let _: u8 = self
            .eval(op, &RELEASE, |cmd| {
                cmd.arg(key).arg(token.marker());
            })
            .await?;
        Ok(())
    }

    /// Gives `token`'s lease back on a task of the cache's own: the release deletes the key
    /// only if it still holds this lease's marker. While Redis is out of reach it tries
    /// again, with growing pauses, until the lease would have expired anyway (`lease`).
    fn release_later(&self, key: &str, token: LeaseToken, lease: Duration) {
        let (cache, key) = (self.clone(), key.to_owned());
        self.connection.spawn(async move {
            let give_up = tokio::time::Instant::now() + lease;
            let mut pause = RELEASE_RETRY.0;
            while let Err(error) = cache.lease_release(&key, &token).await {
                if !error.is_unavailable() || tokio::time::Instant::now() + pause > give_up {
                    return;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RELEASE_RETRY.1);
            }
        });
    }
}

/// What a `SET NX GET` that answered `held` means for the lease of `token`.
fn lease_of(held: Option<Vec<u8>>, token: &LeaseToken) -> Lease {
    match held.map(LeaseToken::classify) {
        None => Lease::Granted,
        // A resend that found its first attempt's marker.
        Some(Lease::Loading(holder)) if holder == *token => Lease::Granted,
        Some(lease) => lease,
    }
}
