//! Tags on Redis: one set per tag listing the keys cached under it, so invalidating a tag
//! costs in proportion to its entries instead of a `SCAN` of the whole keyspace.
//!
//! A tag's set is the key `prefix + "\xFFcache-aside:tag:" + tag`. The `0xFF` byte never
//! occurs in a key given through the port (keys are UTF-8), so no key can collide with a
//! tag's set, and `delete_pattern` leaves tag sets alone even for a pattern such as `*`.
//! `flush` deletes them like any key under the prefix.

use std::io::Write;

use redis::{RedisWrite, ToRedisArgs};

use super::{Op, RedisCache};
use crate::error::{CacheError, ErrorCode};

/// What follows the prefix in the key of every tag's set.
const NAMESPACE: &[u8] = b"\xFFcache-aside:tag:";

/// Reads the set KEYS[1] and deletes it, atomically: an entry recorded under the tag after
/// this lands in a new set, for the next invalidation.
const TAKE: &str = r"
    local members = redis.call('SMEMBERS', KEYS[1])
    redis.call('UNLINK', KEYS[1])
    return members
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
    /// One round trip takes every tag's set (a one-key script per tag, pipelined), then
    /// the members are unlinked in batches of `scan_count`.
    pub(super) async fn tags_invalidate(&self, tags: &[&str]) -> Result<u64, CacheError> {
        if tags.is_empty() {
            return Ok(0);
        }
        // Not resent: a second take after a lost reply would find the set gone and
        // report no members, and they would never be deleted.
        let op = Op::plain("EVAL take-tag", ErrorCode::Delete).not_resent();
        let mut pipeline = redis::pipe();
        for &tag in tags {
            // EVAL, not EVALSHA: a pipeline cannot load a missing script and retry.
            pipeline
                .cmd("EVAL")
                .arg(TAKE)
                .arg(1)
                .arg(TagKey::new(&self.prefix, tag));
        }
        let taken: Vec<Vec<Vec<u8>>> = self.connection.pipeline_query(op, &pipeline).await?;
        let members: Vec<Vec<u8>> = taken.into_iter().flatten().collect();
        let op = Op::plain("UNLINK", ErrorCode::Delete).not_resent();
        let mut deleted = 0;
        for batch in members.chunks(self.connection.scan_count) {
            let removed: u64 = self
                .connection
                .query(op, redis::cmd("UNLINK").arg(batch))
                .await?;
            deleted += removed;
        }
        Ok(deleted)
    }
}
