//! Tags on Redis: one sorted set per tag listing the keys cached under it, so invalidating
//! a tag costs in proportion to its entries instead of a `SCAN` of the whole keyspace.
//!
//! A tag's set is the key `prefix + "\xFFcache-aside:tag:" + tag`. The `0xFF` byte never
//! occurs in a key given through the port (keys are UTF-8), so no key can collide with a
//! tag's set, and `delete_pattern` leaves tag sets alone even for a pattern such as `*`.
//! `flush` deletes them like any key under the prefix.
//!
//! Each member's score is the set's generation when it was added, kept in the score of
//! the member `GENERATION` (not UTF-8 either, so never a key). An invalidation takes the
//! members of the current generation and starts the next one, deletes those keys, and only
//! then removes them from the set. So a take whose reply is lost (the server ran it, the
//! client timed out) loses nothing: the members are still there for the replay. And a key
//! cached again after its deletion is re-added with the new generation, so the removal
//! spares it and the next invalidation finds it. A set lives until its expiry (the lease
//! plus the longest TTL of an entry added to it), so generations only grow; only a removal
//! delayed past that expiry could remove a member of the set that follows, which would
//! then be served until its TTL.

use std::io::Write;

use redis::{RedisWrite, ToRedisArgs, Value};

use super::pending::Deletion;
use super::{Connection, Op, RedisCache};
use crate::error::{CacheError, ErrorCode};

/// What follows the prefix in the key of every tag's set.
const NAMESPACE: &[u8] = b"\xFFcache-aside:tag:";

/// The member whose score is the set's current generation.
pub(super) const GENERATION: &[u8] = b"\xFFgeneration";

/// Adds ARGV[2] to the set KEYS[1] with the current generation (ARGV[1] is `GENERATION`),
/// and makes the set live at least ARGV[3] milliseconds more. One script, rather than
/// `ZADD` and `PEXPIRE ... GT` in the pipeline, so that it works on any Redis with
/// scripting and an error in it cannot fail the lease's `SET` beside it.
pub(super) const ADD: &str = r"
    local generation = redis.call('ZSCORE', KEYS[1], ARGV[1]) or 0
    redis.call('ZADD', KEYS[1], generation, ARGV[2])
    local left = redis.call('PTTL', KEYS[1])
    if left < tonumber(ARGV[3]) then
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
    end
";

/// Starts the next generation of the set KEYS[1] (ARGV[1] is `GENERATION`), and returns
/// the previous one and its members (every member added before now).
const TAKE: &str = r"
    if redis.call('EXISTS', KEYS[1]) == 0 then
        return {0, {}}
    end
    local generation = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
    local members = {}
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', generation)) do
        if member ~= ARGV[1] then
            table.insert(members, member)
        end
    end
    redis.call('ZADD', KEYS[1], generation + 1, ARGV[1])
    return {generation, members}
";

/// Removes the members of generation ARGV[1] and older from the set KEYS[1] (ARGV[2] is
/// `GENERATION`), if the set is still the one taken: a set flushed and recorded again
/// since has started its generations over, and its members must stay.
///
/// The set itself stays, even with only `GENERATION` left, until its expiry: deleting it
/// would start the generations again from 0, and a removal still on its way from an
/// earlier invalidation would then remove members added since.
const FORGET: &str = r"
    local current = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]) or '-1')
    if current > tonumber(ARGV[1]) then
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
    end
";

/// The key of a tag's set, as one argument.
#[derive(Clone, Copy)]
pub(super) struct TagKey<'a> {
    prefix: &'a str,
    tag: &'a str,
}

impl<'a> TagKey<'a> {
    pub(super) fn new(prefix: &'a str, tag: &'a str) -> Self {
        Self { prefix, tag }
    }
}

impl ToRedisArgs for TagKey<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        let mut arg = out.writer_for_next_arg();
        // Writing into the command's own buffer cannot fail.
        let _ = arg.write_all(self.prefix.as_bytes());
        let _ = arg.write_all(NAMESPACE);
        let _ = arg.write_all(self.tag.as_bytes());
    }
}

/// Whether `key` is a tag's set: of this view, or of a narrower view under its prefix.
pub(super) fn is_tag_key(key: &[u8]) -> bool {
    key.windows(NAMESPACE.len())
        .any(|window| window == NAMESPACE)
}

impl RedisCache {
    /// Invalidates each tag (see the module's docs): one round trip takes the sets, then
    /// their members are unlinked in batches of `scan_count`, then one round trip removes
    /// them from the sets.
    ///
    /// When the server is out of reach, the tags whose members may not all be deleted yet
    /// are kept for replay; the replay takes the same members again.
    pub(super) async fn tags_invalidate(&self, tags: &[&str]) -> Result<u64, CacheError> {
        if tags.is_empty() {
            return Ok(0);
        }
        let keys: Vec<Vec<u8>> = tags
            .iter()
            .map(|tag| TagKey::new(self.view.prefix(), tag).bytes())
            .collect();
        let op = Op::plain("EVAL take-tag", ErrorCode::Delete).deletion();
        self.connection
            .invalidate_tag_sets(op, &keys)
            .await
            .map_err(|error| {
                let mut queued = false;
                for key in &keys {
                    queued = self.connection.defer(Deletion::Tag(key.clone()), &error);
                }
                if queued { error.queued() } else { error }
            })
    }
}

impl TagKey<'_> {
    pub(super) fn bytes(&self) -> Vec<u8> {
        [self.prefix.as_bytes(), NAMESPACE, self.tag.as_bytes()].concat()
    }
}

impl Connection {
    /// Takes the sets at `keys`, deletes their members, then removes them from the sets;
    /// returns how many entries were deleted. Sending it again after any failure is safe.
    pub(super) async fn invalidate_tag_sets(
        &self,
        op: Op<'_>,
        keys: &[Vec<u8>],
    ) -> Result<u64, CacheError> {
        let mut take = self.new_batch();
        for key in keys {
            // EVAL, not EVALSHA: a pipeline cannot load a missing script and retry.
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(TAKE).arg(1).arg(key).arg(GENERATION);
            take.add(key, cmd);
        }
        let taken: Vec<(i64, Vec<Vec<u8>>)> = self.batch(op, &take).await.and_then(|replies| {
            redis::from_redis_value(Value::Array(replies))
                .map_err(|error| op.redis_error(error.into()))
        })?;
        let members: Vec<&[u8]> = taken
            .iter()
            .flat_map(|(_, members)| members.iter().map(Vec::as_slice))
            .collect();
        let unlink = Op {
            command: "UNLINK",
            ..op
        }
        .not_resent();
        let mut deleted = 0;
        for batch in members.chunks(self.scan_count) {
            let _changing = self.changing(|| Some(batch.iter().map(|key| key.to_vec()).collect()));
            let removed = self.unlink(unlink, batch).await?;
            deleted += removed;
        }
        let mut forget = self.new_batch();
        for (key, (generation, _)) in keys.iter().zip(&taken) {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(FORGET)
                .arg(1)
                .arg(key)
                .arg(generation)
                .arg(GENERATION);
            forget.add(key, cmd);
        }
        let forget_op = Op {
            command: "EVAL forget-tag",
            ..op
        };
        if let Err(error) = self.batch(forget_op, &forget).await {
            // The entries are deleted; the members left in the sets are deleted again by
            // the next invalidation of these tags, which costs a miss at most.
            tracing::debug!(error = %error, "removing invalidated members from tag sets failed");
        }
        Ok(deleted)
    }
}
