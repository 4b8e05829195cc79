//! `Display` adapters that the generated key code formats values through.

use std::fmt::{self, Display, Write};

/// Formats a value glob-escaped, for a value interpolated into an `#[invalidate]` pattern:
/// `*`, `?`, `[`, `]` and `\` in it match only themselves.
#[doc(hidden)]
pub struct GlobEscaped<'a>(&'a dyn Display);

impl Display for GlobEscaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            Escaping {
                out: f,
                special: crate::glob::SPECIAL,
            },
            "{}",
            self.0
        )
    }
}

/// Formats a parameter of a default key (`module::function:arg1:arg2`) with `:` and `\`
/// escaped, so that two argument lists never render to the same key.
#[doc(hidden)]
pub struct KeyPart<'a>(&'a dyn Display);

impl Display for KeyPart<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            Escaping {
                out: f,
                special: b":\\"
            },
            "{}",
            self.0
        )
    }
}

// Functions, not constructors, and over `dyn Display`: a value that is not `Display` is then
// reported once, at the argument, and not again where the adapter is formatted.

/// `value`, glob-escaped.
#[doc(hidden)]
pub fn glob_escaped<T: Display>(value: &T) -> GlobEscaped<'_> {
    GlobEscaped(value)
}

/// `value`, as a part of a default key.
#[doc(hidden)]
pub fn key_part<T: Display>(value: &T) -> KeyPart<'_> {
    KeyPart(value)
}

/// Writes through to `out`, putting a backslash before each byte in `special`.
struct Escaping<'a, 'f> {
    out: &'a mut fmt::Formatter<'f>,
    special: &'static [u8],
}

impl Write for Escaping<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some(at) = rest.bytes().position(|byte| self.special.contains(&byte)) {
            self.out.write_str(&rest[..at])?;
            self.out.write_char('\\')?;
            // The special bytes are ASCII, so `at + 1` is a character boundary.
            self.out.write_str(&rest[at..at + 1])?;
            rest = &rest[at + 1..];
        }
        self.out.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_escaping_leaves_only_literals() {
        let rendered = glob_escaped(&"a*b?c[d]e\\f").to_string();
        assert_eq!(rendered, r"a\*b\?c\[d\]e\\f");
        assert!(crate::glob::matches(rendered.as_bytes(), b"a*b?c[d]e\\f"));
        assert!(!crate::glob::matches(rendered.as_bytes(), b"aXb?c[d]e\\f"));
    }

    #[test]
    fn key_parts_cannot_run_into_each_other() {
        let one = format!("{}:{}", key_part(&"1:2"), key_part(&"3"));
        let two = format!("{}:{}", key_part(&"1"), key_part(&"2:3"));
        assert_ne!(one, two);
        assert_eq!(one, r"1\:2:3");
        assert_eq!(format!("{}", key_part(&"é\\")), "é\\\\");
    }
}
