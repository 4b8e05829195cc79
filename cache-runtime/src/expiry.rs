//! TTL rules shared by every adapter, so that they accept and refuse exactly the same TTLs.

use std::time::Duration;

use crate::error::{CacheError, ErrorCode};

/// The longest TTL accepted. Longer ones are almost always a unit mistake, would overflow a
/// deadline, and Redis refuses TTLs near its own `i64` milliseconds limit.
pub(crate) const MAX_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// The TTL of a write (`set`, `set_many`) in whole milliseconds, rounded up so that a short
/// positive TTL never turns into "no expiry". Zero is refused, as Redis refuses `SET … PX 0`.
pub(crate) fn write_millis(ttl: Duration, code: ErrorCode, key: &str) -> Result<u64, CacheError> {
    if ttl.is_zero() {
        return Err(
            CacheError::new(code, "a TTL of zero is invalid; pass None for no expiry")
                .with_key(key),
        );
    }
    expire_millis(ttl, code, key)
}

/// The TTL of `expire` in whole milliseconds; zero is allowed and deletes the key.
pub(crate) fn expire_millis(ttl: Duration, code: ErrorCode, key: &str) -> Result<u64, CacheError> {
    if ttl > MAX_TTL {
        return Err(CacheError::new(
            code,
            "a TTL longer than 100 years is invalid; pass None for no expiry",
        )
        .with_key(key));
    }
    let millis = ttl.as_nanos().div_ceil(1_000_000);
    // MAX_TTL keeps this far below u64::MAX; the fallback only keeps the conversion total.
    Ok(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// How long a tag's record of a key must live past the key's lease, for a value that will
/// be stored with `ttl`: that TTL in whole milliseconds, capped at [`MAX_TTL`] (which also
/// stands for "no expiry"). It never fails: a TTL the write will refuse only keeps the
/// record longer than needed. (Redis's tag sets; memory's tags live with their entries.)
#[cfg(feature = "redis")]
pub(crate) fn record_millis(ttl: Option<Duration>) -> u64 {
    let ttl = ttl.map_or(MAX_TTL, |ttl| ttl.min(MAX_TTL));
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_to_whole_milliseconds() {
        let ms = |d| write_millis(d, ErrorCode::Set, "k").unwrap();
        assert_eq!(ms(Duration::from_nanos(1)), 1);
        assert_eq!(ms(Duration::from_micros(1500)), 2);
        assert_eq!(ms(Duration::from_secs(3)), 3000);
    }

    #[test]
    fn zero_is_refused_for_writes_but_not_for_expire() {
        let error = write_millis(Duration::ZERO, ErrorCode::Set, "k").unwrap_err();
        assert_eq!(error.code(), ErrorCode::Set);
        assert_eq!(
            expire_millis(Duration::ZERO, ErrorCode::Expire, "k").unwrap(),
            0
        );
    }

    #[test]
    fn absurd_ttls_are_refused() {
        assert!(write_millis(Duration::MAX, ErrorCode::Set, "k").is_err());
        assert!(expire_millis(MAX_TTL + Duration::from_secs(1), ErrorCode::Expire, "k").is_err());
        assert!(expire_millis(MAX_TTL, ErrorCode::Expire, "k").is_ok());
    }
}
