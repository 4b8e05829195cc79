//! The one error type of the port, classified so that a fail-open policy can act on it.

use std::error::Error as StdError;
use std::fmt;

/// A cause carried by a [`CacheError`]; boxed so that adapters can attach any error.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong, as a stable code that logs, metrics and alerts can match on.
///
/// Connection trouble and deadlines get their own codes whatever the operation was, because
/// that is what a fail-open policy acts on; everything else is named after the operation that
/// failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The store could not be reached or used: the connection was refused or broke, the
    /// credentials were refused, or the server refused the command for a reason that
    /// passes (it is loading its data, out of memory with `noeviction`, busy running a
    /// script, a replica, ...).
    Connection,
    /// The operation did not finish within its deadline.
    Timeout,
    /// `get` or `get_json` failed for another reason (for example `WRONGTYPE`).
    Get,
    /// `set` or `set_json` was refused, or its arguments were invalid (such as a zero TTL).
    Set,
    /// `delete` or `delete_pattern` failed.
    Delete,
    /// `exists` failed.
    Exists,
    /// `expire` failed.
    Expire,
    /// `increment` or `decrement` failed (the value is not an integer, or would overflow).
    Increment,
    /// `ttl` failed.
    Ttl,
    /// `flush` failed.
    Flush,
    /// `get_many` failed.
    MultiGet,
    /// `set_many` failed.
    MultiSet,
    /// A value could not be encoded to, or decoded from, JSON.
    Json,
    /// The cache was configured wrongly (for example an invalid URL).
    Config,
    /// The process-wide default cache was already chosen.
    AlreadyInitialized,
    /// The operation was not sent: the cache's circuit breaker is open after repeated
    /// connection failures, or a deletion that failed and covers the operation's key is
    /// waiting to be replayed.
    CircuitOpen,
    /// A value was longer than the cache's `max_value_size`, so it was not stored.
    ValueTooLarge,
    /// A key (with its prefix) was longer than the cache's `max_key_size`.
    KeyTooLarge,
    /// A rate-limit check failed for another reason (for example the key holds a value
    /// that is not a rate-limit window).
    RateLimit,
}

impl ErrorCode {
    /// The code as the upper-case string used in logs, such as `CACHE_GET_ERROR`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "CACHE_CONNECTION_ERROR",
            Self::Timeout => "CACHE_TIMEOUT",
            Self::Get => "CACHE_GET_ERROR",
            Self::Set => "CACHE_SET_ERROR",
            Self::Delete => "CACHE_DELETE_ERROR",
            Self::Exists => "CACHE_EXISTS_ERROR",
            Self::Expire => "CACHE_EXPIRE_ERROR",
            Self::Increment => "CACHE_INCREMENT_ERROR",
            Self::Ttl => "CACHE_TTL_ERROR",
            Self::Flush => "CACHE_FLUSH_ERROR",
            Self::MultiGet => "CACHE_MGET_ERROR",
            Self::MultiSet => "CACHE_MSET_ERROR",
            Self::Json => "CACHE_JSON_ERROR",
            Self::Config => "CACHE_CONFIG_ERROR",
            Self::AlreadyInitialized => "CACHE_ALREADY_INITIALIZED",
            Self::CircuitOpen => "CACHE_CIRCUIT_OPEN",
            Self::ValueTooLarge => "CACHE_VALUE_TOO_LARGE",
            Self::KeyTooLarge => "CACHE_KEY_TOO_LARGE",
            Self::RateLimit => "CACHE_RATE_LIMIT_ERROR",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from a cache operation.
///
/// It carries a [code](Self::code), a message, the key or pattern involved and the underlying
/// cause, but never a cached value: values may hold personal data and must not reach logs.
#[derive(Debug)]
#[non_exhaustive]
pub struct CacheError {
    code: ErrorCode,
    message: String,
    key: Option<String>,
    pattern: Option<String>,
    source: Option<BoxError>,
    queued: bool,
}

impl CacheError {
    /// A new error with a code and a message; add details with the `with_*` methods.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            key: None,
            pattern: None,
            source: None,
            queued: false,
        }
    }

    /// Names the key the operation was about.
    #[must_use]
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Names the pattern the operation was about.
    #[must_use]
    pub fn with_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }

    /// Attaches the underlying cause, returned by [`std::error::Error::source`].
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The classification of this error.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// What went wrong, in words (without the key, the pattern or the cause).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The key the failed operation was about, as the caller gave it (without the prefix).
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The pattern the failed operation was about, as the caller gave it.
    pub fn pattern(&self) -> Option<&str> {
        self.pattern.as_deref()
    }

    /// True when the store could not be reached or the connection broke.
    pub fn is_connection(&self) -> bool {
        self.code == ErrorCode::Connection
    }

    /// True when the operation ran out of time.
    pub fn is_timeout(&self) -> bool {
        self.code == ErrorCode::Timeout
    }

    /// True when the operation was not sent because the cache's circuit breaker is open.
    pub fn is_circuit_open(&self) -> bool {
        self.code == ErrorCode::CircuitOpen
    }

    /// True when the store is out of reach for now (a connection error, a timeout or an
    /// open breaker): the next operations would most likely fail the same way.
    pub fn is_unavailable(&self) -> bool {
        self.is_connection() || self.is_timeout() || self.is_circuit_open()
    }

    /// True for a deletion that failed but that the adapter recorded: it deletes the same
    /// entries once the store is reachable again, before serving any read.
    pub fn is_queued(&self) -> bool {
        self.queued
    }

    /// Marks a failed deletion as recorded for replay; see [`is_queued`](Self::is_queued).
    /// For adapters that keep failed deletions, as `RedisCache` does.
    #[must_use]
    pub fn queued(mut self) -> Self {
        self.queued = true;
        self
    }
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(key) = &self.key {
            write!(f, " (key {key:?})")?;
        }
        if let Some(pattern) = &self.pattern {
            write!(f, " (pattern {pattern:?})")?;
        }
        // The cause is reachable through `source()`; it is also printed here because most
        // logging prints only the top-level message, and a bare "GET failed" helps nobody.
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for CacheError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_code_key_and_cause_but_no_value() {
        let error = CacheError::new(
            ErrorCode::Json,
            "stored value is not valid JSON for the type",
        )
        .with_key("user:1")
        .with_source(std::io::Error::other("expected value at line 1"));
        assert_eq!(
            error.to_string(),
            "CACHE_JSON_ERROR: stored value is not valid JSON for the type (key \"user:1\"): \
             expected value at line 1"
        );
        assert!(error.source().is_some());
        assert_eq!(error.key(), Some("user:1"));
        assert_eq!(error.pattern(), None);
    }

    #[test]
    fn codes_are_the_documented_strings() {
        assert_eq!(ErrorCode::Connection.as_str(), "CACHE_CONNECTION_ERROR");
        assert_eq!(ErrorCode::Timeout.as_str(), "CACHE_TIMEOUT");
        assert_eq!(ErrorCode::MultiGet.as_str(), "CACHE_MGET_ERROR");
        assert_eq!(ErrorCode::MultiSet.as_str(), "CACHE_MSET_ERROR");
        assert_eq!(ErrorCode::Increment.to_string(), "CACHE_INCREMENT_ERROR");
    }
}
