//! One-key Lua scripts, sent by digest: what the leases and the rate limiter run.

use std::error::Error as _;
use std::sync::OnceLock;

use redis::{Cmd, FromRedisValue, RedisError, Script};

use super::RedisCache;
use super::op::Op;
use crate::error::CacheError;

/// A script's text and its SHA-1 digest (computed once, by redis-rs).
pub(super) struct Lua {
    body: &'static str,
    digest: OnceLock<String>,
}

impl Lua {
    pub(super) const fn new(body: &'static str) -> Self {
        Lua {
            body,
            digest: OnceLock::new(),
        }
    }

    fn digest(&self) -> &str {
        self.digest
            .get_or_init(|| Script::new(self.body).get_hash().to_owned())
    }
}

impl RedisCache {
    /// Runs a one-key script as `EVALSHA`, and as `EVAL` when the server does not know it (a
    /// fresh or restarted server, a `SCRIPT FLUSH`): one command as a rule, two after a flush.
    /// `args` adds the key and the arguments.
    pub(super) async fn eval<T: FromRedisValue>(
        &self,
        op: Op<'_>,
        script: &Lua,
        args: impl Fn(&mut Cmd),
    ) -> Result<T, CacheError> {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(script.digest()).arg(1);
        args(&mut cmd);
        match self.connection.query(op, &cmd).await {
            Err(error) if reply_code(&error) == Some("NOSCRIPT") => {
                let mut cmd = redis::cmd("EVAL");
                cmd.arg(script.body).arg(1);
                args(&mut cmd);
                self.connection.query(op, &cmd).await
            }
            result => result,
        }
    }
}

/// The code of the error the server replied with (`NOSCRIPT`, `WRONGTYPE`...), if it did.
pub(super) fn reply_code(error: &CacheError) -> Option<&str> {
    error
        .source()
        .and_then(|source| source.downcast_ref::<RedisError>())
        .and_then(RedisError::code)
}
