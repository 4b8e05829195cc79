//! Duration arguments, `ttl = ...` and `lease = ...`: whole seconds, `"90s"`-style strings,
//! or an expression, with errors that name the argument.

use std::time::Duration;

/// A duration argument, for its error messages.
#[derive(Clone, Copy)]
pub(crate) struct Named {
    pub(crate) name: &'static str,
    /// A sensible value, shown in the messages.
    example: &'static str,
    /// What leaving the argument out gives.
    absent: &'static str,
}

pub(crate) const TTL: Named = Named {
    name: "ttl",
    example: "3600",
    absent: "entries that never expire",
};

pub(crate) const LEASE: Named = Named {
    name: "lease",
    example: "5",
    absent: "the default lease of 10 seconds",
};

/// Why a duration was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    Malformed,
    TooLong,
    Float,
    Negative,
    Zero,
}

impl Named {
    pub(crate) fn message(self, problem: Problem) -> String {
        let Named {
            name,
            example,
            absent,
        } = self;
        match problem {
            Problem::Malformed => format!(
                "`{name}` takes seconds ({name} = {example}), a string with one unit \
                 (\"90s\", \"15m\", \"1h\", \"1d\") or a Duration expression"
            ),
            Problem::TooLong => format!(
                "`{name}` is longer than 100 years, the longest the cache accepts; leave \
                 `{name}` out for {absent}"
            ),
            Problem::Float => format!(
                "`{name}` in seconds must be a whole number; use a Duration expression for less"
            ),
            Problem::Negative => {
                format!("`{name}` cannot be negative; leave `{name}` out for {absent}")
            }
            Problem::Zero => {
                format!("`{name}` must be greater than zero; leave `{name}` out for {absent}")
            }
        }
    }
}

/// Parses a whole number followed by one of `s`, `m`, `h`, `d`.
pub(crate) fn parse(text: &str) -> Result<Duration, Problem> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or(Problem::Malformed)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| Problem::Malformed)?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(Problem::Malformed),
    };
    number
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .filter(|ttl| *ttl <= MAX)
        .ok_or(Problem::TooLong)
}

/// The longest TTL the cache accepts (the runtime refuses longer ones on every write).
pub(crate) const MAX: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

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
        assert_eq!(parse("36501d"), Err(Problem::TooLong));
    }

    #[test]
    fn messages_name_the_argument() {
        assert!(
            TTL.message(Problem::Zero)
                .starts_with("`ttl` must be greater than zero")
        );
        assert!(LEASE.message(Problem::Malformed).contains("(lease = 5)"));
    }
}
