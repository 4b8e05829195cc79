//! What an operation is (its command, error code and flags), and how a redis-rs error is
//! classified for callers.

use std::time::Duration;

use redis::RedisError;

use crate::error::{CacheError, ErrorCode};

/// What an operation is: for its errors, and whether sending it twice is harmless.
#[derive(Clone, Copy)]
pub(super) struct Op<'a> {
    pub(super) command: &'static str,
    pub(super) code: ErrorCode,
    pub(super) key: Option<&'a str>,
    pub(super) pattern: Option<&'a str>,
    /// Whether a second send after a lost reply gives the same answer.
    pub(super) resendable: bool,
    /// Whether the breaker decides if it is sent: not for the recovery task's own probe
    /// and replays, which are how the breaker closes.
    pub(super) guarded: bool,
    /// Whether it deletes: deletions are sent again as soon as a probe reaches the server.
    pub(super) deletion: bool,
}

impl<'a> Op<'a> {
    pub(super) fn on_key(command: &'static str, code: ErrorCode, key: &'a str) -> Self {
        Self {
            key: Some(key),
            ..Self::plain(command, code)
        }
    }

    pub(super) fn on_pattern(command: &'static str, code: ErrorCode, pattern: &'a str) -> Self {
        Self {
            pattern: Some(pattern),
            ..Self::plain(command, code)
        }
    }

    pub(super) fn plain(command: &'static str, code: ErrorCode) -> Self {
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

    pub(super) fn deletion(self) -> Self {
        Self {
            deletion: true,
            ..self
        }
    }

    /// For the recovery task: sent while the breaker is open.
    pub(super) fn unguarded(self) -> Self {
        Self {
            guarded: false,
            ..self
        }
    }

    /// For commands whose answer changes when they run twice because a reply was lost:
    /// `INCRBY` would count twice, and a second `UNLINK` or `PEXPIRE` would report that the
    /// key did not exist.
    pub(super) fn not_resent(self) -> Self {
        Self {
            resendable: false,
            ..self
        }
    }

    pub(super) fn error(self, code: ErrorCode, message: String) -> CacheError {
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
    pub(super) fn redis_error(self, source: RedisError) -> CacheError {
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

    pub(super) fn timed_out(self, after: Duration) -> CacheError {
        self.error(
            ErrorCode::Timeout,
            format!("{} got no reply within {after:?}", self.command),
        )
    }

    pub(super) fn not_utf8(self) -> CacheError {
        self.error(self.code, "stored value is not valid UTF-8".to_owned())
    }

    pub(super) fn circuit_open(self) -> CacheError {
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

/// Replies that say the server cannot be used at all, whatever the command: wrong or missing
/// credentials, a server still loading its data, a replica without its primary, or a replica
/// reached instead of the primary (after a failover, until DNS or the proxy catches up).
pub(super) fn store_unusable(error: &RedisError) -> bool {
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

/// A failure after which the connection is not used again.
pub(super) fn is_connection_trouble(error: &RedisError) -> bool {
    error.is_unrecoverable_error() || error.is_io_error() || error.is_connection_dropped()
}

/// A connection that was up and broke, as opposed to one that could not be opened (retrying
/// that at once would fail the same way).
pub(super) fn is_broken_connection(error: &RedisError) -> bool {
    error.is_connection_dropped() && !error.is_connection_refusal()
}
