//! Keys as command arguments: the prefix and the caller's key written straight into the
//! command buffer, so a prefixed key costs no allocation of its own.

use redis::{RedisWrite, ToRedisArgs};
use std::io::Write;

/// `prefix + key`, as one argument.
#[derive(Clone, Copy)]
pub(super) struct PrefixedKey<'a> {
    pub(super) prefix: &'a str,
    pub(super) key: &'a str,
}

impl PrefixedKey<'_> {
    /// The whole key, owned.
    pub(super) fn to_vec(self) -> Vec<u8> {
        [self.prefix.as_bytes(), self.key.as_bytes()].concat()
    }
}

impl ToRedisArgs for PrefixedKey<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        let mut arg = out.writer_for_next_arg();
        // Writing into the command's own buffer cannot fail; an error here would only mean a
        // truncated key, which the server would then simply not find.
        let _ = arg.write_all(self.prefix.as_bytes());
        let _ = arg.write_all(self.key.as_bytes());
    }
}
