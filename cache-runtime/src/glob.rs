//! Redis-compatible glob matching, so in-process adapters select exactly the
//! keys that `KEYS pattern` / `SCAN … MATCH pattern` would select on a Redis
//! server.
//!
//! The matcher is a behavioural port of `stringmatchlen` from Redis 7.0's
//! `src/util.c` (case-sensitive, with the CVE-2022-36021 and CVE-2024-31228
//! hardening). Redis's quirks are reproduced on purpose rather than "fixed",
//! because the value of this module is that the memory adapter and the Redis
//! adapter agree on every pattern a caller can send:
//!
//! * `?` and every class consume exactly one *byte*, never one UTF-8 char.
//! * Range bounds and the subject byte are compared as C `char`, which is
//!   signed on `x86_64`, so bytes `>= 0x80` sort *below* ASCII in ranges.
//! * Reversed ranges (`[z-a]`) are swapped; a range's end is taken verbatim,
//!   so `\` and `]` cannot be escaped there (`[a-]` is a range up to `]`).
//! * An unterminated class (`[abc`) runs to the end of the pattern and still
//!   matches one byte; `[` alone matches nothing, `[^` matches any one byte.
//! * A trailing lone `\` matches a literal backslash.
//! * `*` against an empty subject only matches via the `KEYS`/`SCAN`
//!   shortcut for the exact pattern `*`; `**` does not match the empty key.
//! * Past 1000 nested star expansions the match fails, as on Redis.
//!
//! Cost is bounded like Redis's (star backtracking is cut short, recursion is
//! capped) but still O(pattern × subject) per key in the worst case, e.g. a
//! star followed by a long unterminated class; Redis pays the same price.

/// Deepest star recursion Redis explores before declaring "no match"; it is
/// part of the observable semantics (CVE-2024-31228) and also bounds our stack.
const MAX_NESTING: u32 = 1000;

/// Tests `subject` against a Redis glob `pattern`, exactly as `KEYS` does.
///
/// Both sides are raw bytes because Redis keys are binary-safe; callers with
/// `&str` keys pass `as_bytes()`. The lone pattern `*` is special-cased like
/// Redis's `KEYS`/`SCAN`, which skip the matcher for it — the only way the
/// empty key is matched by a star.
pub(crate) fn matches(pattern: &[u8], subject: &[u8]) -> bool {
    if pattern == b"*" {
        return true;
    }
    let mut skip_longer = false;
    match_at(pattern, subject, &mut skip_longer, 0)
}

/// The bytes a glob escapes to match themselves; see [`escape_into`].
pub(crate) const SPECIAL: &[u8] = b"*?[]\\";

/// Appends `literal` escaped so that, as a pattern, it matches that exact
/// string and nothing else (e.g. to build `prefix*` from a user prefix).
///
/// Only `*`, `?`, `[`, `]` and `\` are escaped: `^` and `-` only mean
/// something inside a class, and a class can only be opened by `[`, so once
/// `[` is escaped they are plain bytes. `]` is harmless outside a class but
/// escaped anyway so the output never looks like a class terminator.
pub(crate) fn escape_into(out: &mut String, literal: &str) {
    out.reserve(literal.len());
    for ch in literal.chars() {
        if ch.is_ascii() && SPECIAL.contains(&(ch as u8)) {
            out.push('\\');
        }
        out.push(ch);
    }
}

/// Owned convenience over [`escape_into`] for callers that do not already
/// hold a buffer to append to.
pub(crate) fn escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    escape_into(&mut out, literal);
    out
}

/// Reinterprets a byte as C `char` on `x86_64`, because Redis compares range
/// bounds after that (signed) promotion and we must order bytes like it does.
fn as_c_char(byte: u8) -> i8 {
    i8::from_ne_bytes([byte])
}

/// The matcher proper. `skip_longer` is shared by the whole match (Redis's
/// `skipLongerMatches`): once the pattern tail after some star failed at
/// every offset, no earlier star can help, which keeps this polynomial.
fn match_at(pat: &[u8], s: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    let (mut p, mut i) = (0usize, 0usize);
    while let (Some(&pc), Some(&sc)) = (pat.get(p), s.get(i)) {
        match pc {
            b'*' => {
                while pat.get(p + 1) == Some(&b'*') {
                    p += 1;
                }
                let rest = pat.get(p + 1..).unwrap_or_default();
                if rest.is_empty() {
                    return true;
                }
                for start in i..s.len() {
                    let tail = s.get(start..).unwrap_or_default();
                    if match_at(rest, tail, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                }
                *skip_longer = true;
                return false;
            }
            b'?' => p += 1,
            b'[' => match match_class(pat, p + 1, sc) {
                Some(next) => p = next,
                None => return false,
            },
            _ => {
                // A lone trailing `\` is not an escape: it matches itself.
                if pc == b'\\' && pat.len() - p >= 2 {
                    p += 1;
                }
                if pat.get(p) != Some(&sc) {
                    return false;
                }
                p += 1;
            }
        }
        i += 1;
        if i == s.len() {
            // Trailing stars may match the empty rest of the subject.
            while pat.get(p) == Some(&b'*') {
                p += 1;
            }
            break;
        }
    }
    p == pat.len() && i == s.len()
}

/// Matches one subject byte `c` against the class whose body starts at `p`
/// (just past `[`), returning the index where matching resumes, or `None`.
///
/// Mirrors Redis's scan order exactly — escape, then `]`, then end of pattern,
/// then range, then literal — since that order decides what `[a-]`, `[\]` or
/// `[^` mean. Running off the end is not an error: Redis treats the class as
/// closed there, so we resume at the end of the pattern.
fn match_class(pat: &[u8], mut p: usize, c: u8) -> Option<usize> {
    let negate = pat.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut hit = false;
    let next = loop {
        let left = pat.len().saturating_sub(p);
        match pat.get(p) {
            Some(&b'\\') if left >= 2 => {
                p += 1;
                hit |= pat.get(p) == Some(&c);
            }
            Some(&b']') => break p + 1,
            None => break p,
            Some(&lo) if left >= 3 && pat.get(p + 1) == Some(&b'-') => {
                let hi = pat.get(p + 2).copied().unwrap_or(0);
                let (a, b) = (as_c_char(lo), as_c_char(hi));
                let (start, end) = if a > b { (b, a) } else { (a, b) };
                hit |= (start..=end).contains(&as_c_char(c));
                p += 2;
            }
            Some(&lit) => hit |= lit == c,
        }
        p += 1;
    };
    (hit != negate).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_into, matches};

    /// Shorthand so the tables below read like Redis test cases.
    fn m(pattern: &str, subject: &str) -> bool {
        matches(pattern.as_bytes(), subject.as_bytes())
    }

    #[test]
    fn empty_pattern_and_subject() {
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("a", ""));
        assert!(!m("?", ""));
        assert!(!m("[a]", ""));
    }

    #[test]
    fn literals_are_exact_and_case_sensitive() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "Hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("^-]", "^-]"));
    }

    #[test]
    fn star() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("h*o", "ho"));
        assert!(m("h*o", "hello"));
        assert!(!m("h*o", "hella"));
        assert!(m("user:*", "user:"));
        assert!(m("*:id", "user:42:id"));
        assert!(m("a*b*c", "aXbYc"));
        assert!(!m("a*b*c", "aXcYb"));
    }

    #[test]
    fn consecutive_stars_collapse() {
        assert!(m("a***b", "ab"));
        assert!(m("a***b", "axxb"));
        assert!(m("***", "x"));
        assert!(m("a**", "a"));
        // Redis quirk: only the exact pattern `*` matches the empty key.
        assert!(!m("**", ""));
        assert!(!m("*a", ""));
    }

    #[test]
    fn question_mark_is_one_byte() {
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(!m("?", "é"));
        assert!(m("??", "é"));
        assert!(m("caf??", "café"));
        assert!(m("?", "\u{0}"));
    }

    #[test]
    fn classes_and_negation() {
        assert!(m("h[ae]llo", "hallo"));
        assert!(m("h[ae]llo", "hello"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[^e]llo", "hallo"));
        // `]` right after `[` closes an empty class, which never matches.
        assert!(!m("[]]", "]"));
        assert!(!m("[]", "]"));
        assert!(m("[^]", "x"));
        assert!(m("[^]]", "x]"));
        assert!(m("[*?]", "*"));
        assert!(!m("[*?]", "a"));
        assert!(m("[a^]", "^"));
    }

    #[test]
    fn ranges_including_reversed() {
        assert!(m("h[a-c]llo", "hbllo"));
        assert!(!m("h[a-c]llo", "hdllo"));
        assert!(m("[z-a]", "m"));
        assert!(m("[0-9a-f]", "e"));
        assert!(!m("[^0-9]", "5"));
        assert!(m("[a-]", "]"));
        assert!(m("[a-]", "_"));
        assert!(!m("[a-]", "b"));
        assert!(m("[a-", "-"));
        assert!(m("[-a]", "-"));
    }

    #[test]
    fn ranges_compare_bytes_as_signed_char() {
        assert!(matches(b"[\x80-\xff]", b"\xc3"));
        assert!(!matches(b"[\x80-\xff]", b"a"));
        // 'a' (97) and 0xff (-1): the range is -1..=97 once swapped.
        assert!(matches(b"[a-\xff]", b"\xff"));
        assert!(matches(b"[a-\xff]", b"A"));
        assert!(!matches(b"[a-\xff]", b"\x80"));
        assert!(!matches(b"[a-\xff]", b"b"));
        assert!(matches(b"[\x00-\x7f]", b"\x7f"));
        assert!(!matches(b"[\x00-\x7f]", b"\xe9"));
    }

    #[test]
    fn escapes_outside_and_inside_classes() {
        assert!(m(r"\*", "*"));
        assert!(!m(r"\*", "a"));
        assert!(m(r"a\?b", "a?b"));
        assert!(!m(r"a\?b", "axb"));
        assert!(m(r"\[x]", "[x]"));
        assert!(m(r"\a", "a"));
        assert!(m(r"\\", r"\"));
        assert!(m(r"[\]]", "]"));
        assert!(m(r"[\^a]", "^"));
        assert!(m(r"[\-]", "-"));
        assert!(m(r"[a\-z]", "-"));
        assert!(!m(r"[a\-z]", "m"));
        assert!(m(r"[a-\]", r"\"));
    }

    #[test]
    fn trailing_backslash_is_literal() {
        assert!(m(r"a\", r"a\"));
        assert!(!m(r"a\", "a"));
        assert!(m(r"[\", r"\"));
    }

    #[test]
    fn unterminated_class_runs_to_end() {
        assert!(m("[abc", "b"));
        assert!(!m("[abc", "d"));
        assert!(!m("[abc", "bx"));
        assert!(!m("[", "["));
        assert!(!m("x[", "x"));
        assert!(m("[^", "z"));
        assert!(m("[^", "^"));
        assert!(!m("[^a", "a"));
        assert!(m("x[^", "xy"));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let subject = "a".repeat(60);
        let started = std::time::Instant::now();
        assert!(!m("a*a*a*a*a*a*a*a*a*a*b", &subject));
        assert!(m("a*a*a*a*a*a*a*a*a*a*", &subject));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn nesting_limit_fails_the_match() {
        let within = "*a".repeat(1000);
        let beyond = "*a".repeat(1002);
        assert!(m(&within, &"a".repeat(1000)));
        assert!(!m(&beyond, &"a".repeat(1002)));
    }

    #[test]
    fn escape_round_trips() {
        let tricky = [
            "",
            "*",
            "?",
            "[",
            "]",
            "\\",
            "[^a]",
            "a\\*b",
            "[a-z]",
            "**",
            "\\\\",
            "user:{42}",
            "héllo wörld ✓",
            "日本*語?",
            "x]y[z",
            "^-",
            "trailing\\",
        ];
        for s in tricky {
            let pattern = escape(s);
            assert!(m(&pattern, s), "{pattern:?} should match {s:?}");
        }
    }

    #[test]
    fn escaped_pattern_rejects_lookalikes() {
        let cases = [
            ("*", "a"),
            ("*", ""),
            ("?", "x"),
            ("[^a]", "b"),
            ("[^a]", "[^a]x"),
            ("a\\*b", "a\\xb"),
            ("a\\*b", "a*b"),
            ("[a-z]", "m"),
            ("é", "e"),
            ("ab", "abab"),
            ("", "a"),
        ];
        for (literal, other) in cases {
            assert!(!m(&escape(literal), other), "{literal:?} vs {other:?}");
        }
    }

    #[test]
    fn escape_into_appends() {
        let mut out = String::from("tenant\\*:");
        escape_into(&mut out, "a[b]*");
        out.push('*');
        assert_eq!(out, "tenant\\*:a\\[b\\]\\**");
        assert!(m(&out, "tenant*:a[b]*anything"));
        assert!(!m(&out, "tenant*:a[b]"));
        assert_eq!(escape("^-"), "^-");
    }
}
