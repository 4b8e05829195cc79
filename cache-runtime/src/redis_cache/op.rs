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
    /// The prefix of the view `key` is under: with it, a read or write of a key that a
    /// waiting deletion covers is refused before it is sent (see `Connection::blocks`).
    pub(super) prefix: Option<&'a str>,
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
            prefix: None,
        }
    }

    /// For an operation on `key` under the view's `prefix` that reads or writes it: refused
    /// while a waiting deletion covers the key.
    pub(super) fn in_view(self, prefix: &'a str) -> Self {
        Self {
            prefix: Some(prefix),
            ..self
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

    /// Classifies a redis-rs error: connection trouble, deadlines and refusals that pass
    /// first, since that is what callers act on (all but deadlines as
    /// [`ErrorCode::Connection`]), then the operation's own code for refusals that do not.
    pub(super) fn redis_error(self, source: RedisError) -> CacheError {
        let code = if source.is_timeout() {
            ErrorCode::Timeout
        } else if source.is_io_error()
            || source.is_connection_dropped()
            || source.is_connection_refusal()
            // A cluster client with no node connection left (every node down): out of
            // reach, not a refusal.
            || source.kind() == redis::ErrorKind::ClusterConnectionNotFound
            || is_passing_refusal(&source)
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

    /// Not sent: a deletion waiting for replay covers the key.
    pub(super) fn blocked(self) -> CacheError {
        self.error(
            ErrorCode::CircuitOpen,
            format!(
                "{} not sent: a deletion covering this key waits for replay",
                self.command
            ),
        )
    }

    /// Not sent: deletions wait for replay, and this one is to be queued behind them.
    pub(super) fn joins_queue(self) -> CacheError {
        self.error(
            ErrorCode::CircuitOpen,
            format!(
                "{} not sent: earlier deletions wait for replay, and it joins them",
                self.command
            ),
        )
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

/// Error replies that say the server cannot take commands for now, whatever the command,
/// and will again without anyone changing the request: they are treated like an unreachable
/// server (a deletion is kept for replay, and they count towards opening the breaker).
///
/// - `OOM` (`maxmemory` reached with `noeviction`), `BUSY` (a script or function runs too
///   long), `LOADING` (the data set is being loaded), `MISCONF` (writes stopped after a
///   failed save), `NOREPLICAS` (too few replicas for a write).
/// - `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`, `READONLY` (a replica reached instead of the
///   primary, after a failover until DNS or the proxy catches up).
/// - `NOAUTH`, `WRONGPASS` and a failed handshake: wrong or missing credentials make the
///   whole server unusable, like a refused connection. They do not pass by themselves, but
///   every command fails the same way, so the breaker opens (one log line) and deletions
///   are kept for when the credentials are fixed rather than lost.
///
/// Everything else the server answers with is permanent for that request: `NOPERM` (an
/// ACL forbids the command or key), `ERR` (an unknown command, wrong arguments),
/// `WRONGTYPE` (an answer about one key, not an outage), `CROSSSLOT`, `EXECABORT`. `MOVED`
/// and `ASK` pass: a cluster moving a slot.
pub(super) fn is_passing_refusal(error: &RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    // A pipeline's refusals come as one error, with no code of its own when the kind of
    // the first is unknown to redis-rs (`OOM`, `BUSY`): it passes if any of them does.
    if error.clone().into_server_errors().is_some_and(|errors| {
        errors
            .iter()
            .any(|(_, error)| is_passing_code(error.code()))
    }) {
        return true;
    }
    matches!(
        error.kind(),
        ErrorKind::AuthenticationFailed
            | ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
            )
    ) || error.code().is_some_and(is_passing_code)
}

fn is_passing_code(code: &str) -> bool {
    matches!(
        code,
        "OOM"
            | "BUSY"
            | "LOADING"
            | "MISCONF"
            | "NOREPLICAS"
            | "TRYAGAIN"
            | "CLUSTERDOWN"
            | "MASTERDOWN"
            | "READONLY"
            // A slot on its way between nodes that redis-rs did not follow in time.
            | "MOVED"
            | "ASK"
            | "NOAUTH"
            | "WRONGPASS"
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The error a reply such as `-OOM ...` gives.
    fn reply(line: &str) -> RedisError {
        match redis::parse_redis_value(format!("-{line}\r\n").as_bytes()) {
            Ok(redis::Value::ServerError(error)) => error.into(),
            other => panic!("not an error reply: {other:?}"),
        }
    }

    #[test]
    fn refusals_that_pass_are_told_from_those_that_do_not() {
        for passing in [
            "OOM command not allowed when used memory > 'maxmemory'.",
            "BUSY Redis is busy running a script.",
            "LOADING Redis is loading the dataset in memory",
            "MISCONF Redis is configured to save RDB snapshots",
            "NOREPLICAS Not enough good replicas to write.",
            "TRYAGAIN Multiple keys request during rehashing of slot",
            "CLUSTERDOWN The cluster is down",
            "MASTERDOWN Link with MASTER is down",
            "READONLY You can't write against a read only replica.",
            "MOVED 3999 127.0.0.1:6381",
            "ASK 3999 127.0.0.1:6381",
            "NOAUTH Authentication required.",
            "WRONGPASS invalid username-password pair",
        ] {
            let error = reply(passing);
            assert!(is_passing_refusal(&error), "{passing}");
            let classified = Op::plain("X", ErrorCode::Delete).redis_error(error);
            assert_eq!(classified.code(), ErrorCode::Connection, "{passing}");
            assert!(classified.is_unavailable(), "{passing}");
        }
        for permanent in [
            "NOPERM User has no permissions to run the 'unlink' command",
            "ERR unknown command 'FOO'",
            "WRONGTYPE Operation against a key holding the wrong kind of value",
            "EXECABORT Transaction discarded because of previous errors.",
        ] {
            let error = reply(permanent);
            assert!(!is_passing_refusal(&error), "{permanent}");
            let classified = Op::plain("X", ErrorCode::Delete).redis_error(error);
            assert_eq!(classified.code(), ErrorCode::Delete, "{permanent}");
        }
    }

    #[test]
    fn a_cluster_client_without_connections_is_out_of_reach() {
        // What redis-rs answers once every node of a cluster is down.
        let error = RedisError::from((
            redis::ErrorKind::ClusterConnectionNotFound,
            "No connections found",
        ));
        let classified = Op::plain("UNLINK", ErrorCode::Delete).redis_error(error);
        assert_eq!(classified.code(), ErrorCode::Connection);
        assert!(classified.is_unavailable());
    }
}
