//! How values are written to the cache: plain `serde_json`, so other services can read them.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::{CacheError, ErrorCode};

/// Encodes a value for storage at `key`.
pub(crate) fn encode<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<String, CacheError> {
    serde_json::to_string(value).map_err(|source| {
        CacheError::new(ErrorCode::Json, "value could not be encoded as JSON")
            .with_key(key)
            .with_source(source)
    })
}

/// Decodes the value stored at `key`.
///
/// serde_json's own message quotes the offending value ("invalid type: string \"…\""), and
/// cached values must never reach logs, so the error keeps only where and what kind of
/// failure it was.
pub(crate) fn decode<T: DeserializeOwned>(key: &str, raw: &str) -> Result<T, CacheError> {
    serde_json::from_str(raw).map_err(|error| {
        let kind = match error.classify() {
            Category::Syntax | Category::Eof => "not valid JSON",
            Category::Data => "JSON of another shape than the requested type",
            Category::Io => "unreadable",
        };
        CacheError::new(
            ErrorCode::Json,
            format!(
                "stored value is {kind} (line {}, column {})",
                error.line(),
                error.column()
            ),
        )
        .with_key(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_never_quote_the_value() {
        let error = decode::<u64>("k", "\"secret-token\"").unwrap_err();
        assert_eq!(error.code(), ErrorCode::Json);
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(error.to_string().contains("another shape"), "{error}");

        let error = decode::<u64>("k", "12 trailing").unwrap_err();
        assert!(error.to_string().contains("not valid JSON"), "{error}");
    }

    #[test]
    fn round_trips_through_plain_json() {
        let raw = encode("k", &vec![1, 2, 3]).unwrap();
        assert_eq!(raw, "[1,2,3]");
        assert_eq!(decode::<Vec<u8>>("k", &raw).unwrap(), vec![1, 2, 3]);
    }
}
