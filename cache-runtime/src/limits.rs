//! Size limits on keys and values, checked by the adapters before anything is stored or
//! sent, so that one huge value cannot slow every reader of it and one runaway key cannot
//! reach the store.

use crate::error::{CacheError, ErrorCode};

/// The longest value stored by default, in bytes: 4 MiB.
pub const DEFAULT_MAX_VALUE_SIZE: usize = 4 << 20;

/// The longest key (with its prefix) accepted by default, in bytes: 16 KiB.
pub const DEFAULT_MAX_KEY_SIZE: usize = 16 << 10;

/// The limits of one cache.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_value_size: usize,
    pub(crate) max_key_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_value_size: DEFAULT_MAX_VALUE_SIZE,
            max_key_size: DEFAULT_MAX_KEY_SIZE,
        }
    }
}

impl Limits {
    /// Checks a key, `prefix_len` bytes of prefix included. The error names the key's
    /// length and only its start: a key this long is most likely a bug, and would flood the
    /// log.
    pub(crate) fn check_key(&self, prefix_len: usize, key: &str) -> Result<(), CacheError> {
        let length = prefix_len + key.len();
        if length <= self.max_key_size {
            return Ok(());
        }
        Err(CacheError::new(
            ErrorCode::KeyTooLarge,
            format!(
                "the key is {length} bytes, over the cache's max_key_size of {}; \
                 shorten it or raise the limit",
                self.max_key_size
            ),
        )
        .with_key(truncated(key)))
    }

    /// Checks a value to store at `key`.
    pub(crate) fn check_value(&self, key: &str, value: &str) -> Result<(), CacheError> {
        if value.len() <= self.max_value_size {
            return Ok(());
        }
        Err(CacheError::new(
            ErrorCode::ValueTooLarge,
            format!(
                "the value is {} bytes, over the cache's max_value_size of {}; it was not \
                 stored",
                value.len(),
                self.max_value_size
            ),
        )
        .with_key(truncated(key)))
    }
}

/// At most the first 256 bytes of a key, cut at a character boundary, for an error message.
fn truncated(key: &str) -> &str {
    let mut end = key.len().min(256);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_at_the_limit_pass_and_over_it_fail() {
        let limits = Limits {
            max_value_size: 4,
            max_key_size: 6,
        };
        assert!(limits.check_key(2, "abcd").is_ok());
        let error = limits.check_key(2, "abcde").unwrap_err();
        assert_eq!(error.code(), ErrorCode::KeyTooLarge);
        assert!(error.to_string().contains("7 bytes"), "{error}");
        assert!(limits.check_value("k", "1234").is_ok());
        let error = limits.check_value("k", "12345").unwrap_err();
        assert_eq!(error.code(), ErrorCode::ValueTooLarge);
    }

    #[test]
    fn long_keys_are_cut_at_a_character_boundary() {
        let key = "é".repeat(200);
        let cut = truncated(&key);
        assert!(cut.len() <= 256 && key.starts_with(cut));
    }
}
