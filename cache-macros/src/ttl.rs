//! Duration arguments, `ttl = ...` and `lease = ...`: whole seconds, `"90s"`-style strings,
//! or an expression. What is wrong with one is told in `check.rs`.

use std::time::Duration;

use syn::{Expr, ExprLit, Lit, UnOp};

/// Why a duration written as a number or a string is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    Malformed,
    TooLong,
    Float,
    Negative,
    /// A zero, which parses (`0`, `"0s"`) and is refused by `check.rs`.
    Zero,
}

/// The duration `value` stands for when it is written as a number or a string (a zero
/// included); `None` for any other expression, a `Duration` at run time.
pub(crate) fn fixed(value: &Expr) -> Option<Result<Duration, Problem>> {
    Some(match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(seconds),
            ..
        }) => seconds
            .base10_parse::<u64>()
            .map_err(|_| Problem::TooLong)
            .map(Duration::from_secs)
            .and_then(|ttl| {
                if ttl > MAX {
                    Err(Problem::TooLong)
                } else {
                    Ok(ttl)
                }
            }),
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => parse(&text.value()),
        Expr::Lit(ExprLit {
            lit: Lit::Float(_), ..
        }) => Err(Problem::Float),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => Err(Problem::Negative),
        _ => return None,
    })
}

/// Parses a whole number followed by one of `s`, `m`, `h`, `d`.
fn parse(text: &str) -> Result<Duration, Problem> {
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
const MAX: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

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
    fn forms() {
        let fixed = |text: &str| fixed(&syn::parse_str(text).unwrap());
        assert_eq!(fixed("60"), Some(Ok(Duration::from_secs(60))));
        assert_eq!(fixed("0"), Some(Ok(Duration::ZERO)));
        assert_eq!(fixed("\"1h\""), Some(Ok(Duration::from_secs(3600))));
        assert_eq!(fixed("1.5"), Some(Err(Problem::Float)));
        assert_eq!(fixed("-1"), Some(Err(Problem::Negative)));
        assert_eq!(
            fixed("99999999999999999999999"),
            Some(Err(Problem::TooLong))
        );
        assert_eq!(fixed("Duration::from_secs(1)"), None);
        assert_eq!(fixed("TTL"), None);
    }
}
