//! Integer values as Redis reads them, so that the memory adapter's counters agree with
//! `INCRBY` on every input.

use crate::error::{CacheError, ErrorCode};

/// Parses a stored value the way Redis's `string2ll` does: optional `-`, no `+`, no
/// whitespace, no leading zeros (but `0` itself), and within `i64`.
pub(crate) fn parse(value: &str) -> Option<i64> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let canonical = match digits.as_bytes() {
        [b'0'] => digits.len() == value.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if canonical { value.parse().ok() } else { None }
}

/// `current + amount`, with Redis's error messages.
pub(crate) fn add(current: Option<&str>, amount: i64, key: &str) -> Result<i64, CacheError> {
    let current = match current {
        None => 0,
        Some(value) => parse(value).ok_or_else(|| {
            CacheError::new(
                ErrorCode::Increment,
                "value is not an integer or out of range",
            )
            .with_key(key)
        })?,
    };
    current.checked_add(amount).ok_or_else(|| {
        CacheError::new(
            ErrorCode::Increment,
            "increment or decrement would overflow",
        )
        .with_key(key)
    })
}

/// The amount to add for a decrement; `i64::MIN` has no negation, and Redis refuses it too.
pub(crate) fn negate(amount: i64, key: &str) -> Result<i64, CacheError> {
    amount.checked_neg().ok_or_else(|| {
        CacheError::new(ErrorCode::Increment, "decrement would overflow").with_key(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_canonical_integers() {
        for ok in [
            "0",
            "7",
            "-7",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert_eq!(parse(ok), ok.parse().ok(), "{ok}");
        }
        for bad in [
            "",
            "-",
            "+1",
            "01",
            "-0",
            "1 ",
            " 1",
            "1.0",
            "9223372036854775808",
            "0x1",
            "١",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(add(Some("9223372036854775807"), 1, "k").is_err());
        assert_eq!(add(None, -5, "k").unwrap(), -5);
        assert!(negate(i64::MIN, "k").is_err());
    }
}
