//! `ttl = "90s"`-style strings.

use std::time::Duration;

const EXPECTED: &str = "`ttl` takes seconds (ttl = 3600), a string with one unit \
                        (\"90s\", \"15m\", \"1h\", \"1d\") or a Duration expression";

/// Parses a whole number followed by one of `s`, `m`, `h`, `d`.
pub(crate) fn parse(text: &str) -> Result<Duration, &'static str> {
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or(EXPECTED)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| EXPECTED)?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(EXPECTED),
    };
    number
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .filter(|ttl| *ttl <= MAX)
        .ok_or(TOO_LONG)
}

/// The longest TTL the cache accepts (the runtime refuses longer ones on every write).
pub(crate) const MAX: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

pub(crate) const TOO_LONG: &str = "`ttl` is longer than 100 years, the longest the cache accepts; leave `ttl` out for \
     entries that never expire";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn malformed() {
        for text in ["", "s", "90", "1.5h", "1 h", "1hr", "-1s", "1h30m", "1H"] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        assert!(parse("99999999999999999999d").is_err());
        assert_eq!(parse("36500d"), Ok(MAX));
        assert_eq!(parse("36501d"), Err(TOO_LONG));
    }
}
