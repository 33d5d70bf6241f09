//! RubyGems versions, ordered as `Gem::Version` orders them.
//!
//! The `gem_version` crate implements the same rules but keeps numeric
//! segments as `u32` and turns larger ones into strings, which sorts
//! `1.4294967296` below `1.0`; Ruby uses bignums, so this module does too.
//!
//! A version is a run of segments: numbers and letter runs (`1.0.b1` is
//! `1, 0, "b", 1`), with `-` meaning `.pre.`. Any letter makes a version a
//! prerelease, below the release: `1.0.a` < `1.0`. Trailing zeros of the
//! numeric head and of the rest are dropped, and a missing segment counts
//! as 0, so `1` == `1.0.0` and `1.0.a` == `1.a`.

use std::cmp::Ordering;

use super::Reason;
use super::digits::Digits;

/// The ordering key of a gem version: its canonical segments.
///
/// Canonical segments never end in a zero, so two keys order equal exactly
/// when they are equal, and the derived `Hash` agrees with the order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GemKey(Vec<Segment>);

/// A segment; the variant order puts letters below numbers as Ruby does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Segment {
    Letters(String),
    Number(Digits),
}

/// Whitespace as Ruby's regexp `\s` sees it.
const RUBY_SPACE: [char; 6] = [' ', '\t', '\n', '\x0b', '\x0c', '\r'];

/// Parses a gem version, validating it as `Gem::Version.correct?` does.
pub(crate) fn parse(s: &str) -> Result<GemKey, Reason> {
    let v = s.trim_matches(RUBY_SPACE);
    validate(v)?;
    let mut head = Vec::new();
    let mut tail = Vec::new();
    for segment in segments(v) {
        if tail.is_empty() && matches!(segment, Segment::Number(_)) {
            head.push(segment);
        } else {
            tail.push(segment);
        }
    }
    drop_trailing_zeros(&mut head);
    drop_trailing_zeros(&mut tail);
    head.extend(tail);
    Ok(GemKey(head))
}

/// Checks `\A\s*([0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*\z`
/// (with the surrounding whitespace already removed, and the empty version,
/// which Ruby reads as `0`, rejected earlier as blank).
fn validate(v: &str) -> Result<(), Reason> {
    let (release, pre) = match v.split_once('-') {
        Some((release, pre)) => (release, Some(pre)),
        None => (v, None),
    };
    let mut parts = release.split('.');
    let first_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !first_ok {
        return Err(Reason::Borrowed("must start with a number"));
    }
    if !parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(Reason::Borrowed(
            "segments must be non-empty runs of letters and digits",
        ));
    }
    if let Some(pre) = pre {
        let ok = pre
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !ok {
            return Err(Reason::Borrowed("malformed prerelease after '-'"));
        }
    }
    Ok(())
}

/// Scans `[0-9]+|[a-zA-Z]+` over the version with `-` read as `.pre.`.
fn segments(v: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = v;
    while let Some(c) = rest.chars().next() {
        let run = |f: fn(&u8) -> bool| rest.bytes().take_while(f).count();
        let len = if c.is_ascii_digit() {
            run(u8::is_ascii_digit)
        } else if c.is_ascii_alphabetic() {
            run(u8::is_ascii_alphabetic)
        } else {
            if c == '-' {
                out.push(Segment::Letters("pre".to_string()));
            }
            c.len_utf8()
        };
        let (token, tail) = rest.split_at(len);
        rest = tail;
        if let Some(n) = Digits::parse(token) {
            out.push(Segment::Number(n));
        } else if token.bytes().all(|b| b.is_ascii_alphabetic()) {
            out.push(Segment::Letters(token.to_string()));
        }
    }
    out
}

fn drop_trailing_zeros(segments: &mut Vec<Segment>) {
    while matches!(segments.last(), Some(Segment::Number(n)) if n.is_zero()) {
        segments.pop();
    }
}

impl Ord for GemKey {
    fn cmp(&self, other: &Self) -> Ordering {
        // Missing segments count as 0, as in `Gem::Version#<=>`.
        let zero = Segment::Number(Digits::zero());
        for i in 0..self.0.len().max(other.0.len()) {
            let a = self.0.get(i).unwrap_or(&zero);
            let b = other.0.get(i).unwrap_or(&zero);
            let o = a.cmp(b);
            if o.is_ne() {
                return o;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for GemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use crate::Ecosystem;
    use crate::version::test_support::*;

    const GEM: Ecosystem = Ecosystem::RubyGems;

    // Cases from rubygems' test_gem_version.rb.

    #[test]
    fn spaceship() {
        assert_eq_versions(
            GEM,
            &[
                ("1.0", "1.0.0"),
                ("1", "1.0.0"),
                ("0.beta.1", "0.0.beta.1"),
                ("1.9.3", "1.9.3"),
                ("1.2.b1", "1.2.b.1"),
                ("1.0.a", "1.a"),
                ("1.0", " 1.0 "),
                ("1.0", "\n1.0\n"),
                ("1.0.0-alpha1", "1.0.0.pre.alpha1"),
                ("1.a.0", "1.a"),
            ],
        );
        assert_lt(
            GEM,
            &[
                ("1.0.a", "1.0"),
                ("0.0.0", "1.8.2"),
                ("1.8.2.a", "1.8.2"),
                ("1.8.2.a", "1.8.2.b"),
                ("1.8.2.a9", "1.8.2.a10"),
                ("0.0.beta", "0.0.beta.1"),
                ("0.0.beta", "0.beta.1"),
                ("5.a", "5.0.0.rc2"),
                ("5.0.0.rc2", "5.x"),
                ("1.9.2.99", "1.9.3"),
                ("1.9.3", "1.9.3.1"),
            ],
        );
    }

    #[test]
    fn semver_style_prereleases() {
        assert_ascending(
            GEM,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
            ],
        );
        assert_lt(GEM, &[("1.0.0-rc1", "1.0.0"), ("1.0.0-1", "1")]);
    }

    #[test]
    fn letters_compare_case_sensitively_and_below_numbers() {
        assert_lt(
            GEM,
            &[
                ("1.0.0.Preview2", "1.0.0.preview2"),
                ("1.0.a", "1.0.0.1"),
                ("1.a.b", "1.a"),
                ("7.0.0.rc1", "7.0.0.rc2"),
                ("7.0.0.beta3", "7.0.0.rc1"),
            ],
        );
    }

    #[test]
    fn numbers_above_u32_compare_numerically() {
        assert_lt(
            GEM,
            &[
                ("1.0", "1.4294967296"),
                ("1.4294967295", "1.4294967296"),
                ("0.0.20230101120000", "0.0.20230101120001"),
                ("99999999999999999999", "100000000000000000000"),
            ],
        );
    }

    #[test]
    fn rejects_incorrect_versions() {
        assert_invalid(
            GEM,
            &[
                "junk",
                "1.0\n2.0",
                "1..2",
                "1.2\\ 3.4",
                "2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e.",
                "a.1",
                "1.",
                ".1",
                "1-",
                "1.0-a..b",
                "v1.0",
                "1.0 beta",
                "1_0",
            ],
        );
    }
}
