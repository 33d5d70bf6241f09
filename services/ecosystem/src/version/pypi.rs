//! PyPI versions: PEP 440, with pip's old "legacy version" fallback.
//!
//! PEP 440 parsing and ordering come from `pep440_rs`. Some old releases on
//! PyPI are not PEP 440 (`trunk`, `0.3m1`, `2004d`); advisories still name
//! them, so they parse into a legacy key modelled on `packaging`'s
//! `LegacyVersion` (removed in packaging 22 but what pip sorted them by),
//! which orders every legacy version below every PEP 440 version.

use std::str::FromStr;

use super::Key;
use super::digits::Digits;

/// Parses a PyPI version: PEP 440 when possible, legacy otherwise.
pub(crate) fn parse(s: &str) -> Key {
    match pep440_rs::Version::from_str(s.trim()) {
        Ok(v) => Key::Pep440(v),
        Err(_) => Key::PyLegacy(LegacyKey::parse(s)),
    }
}

/// The ordering key of a non-PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct LegacyKey(Vec<Part>);

/// One component of a legacy version.
///
/// `LegacyVersion` wrote words as `*word` and numbers zero-padded, and
/// compared the strings: `*` sorts below every digit, so words sort below
/// numbers. The variant order reproduces that.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Part {
    Word(String),
    Number(Digits),
}

/// The marker `LegacyVersion` appended to every version, and the word a
/// `-` turns into.
const FINAL: &str = "final";
const FINAL_DASH: &str = "final-";

impl LegacyKey {
    fn parse(s: &str) -> LegacyKey {
        let mut parts: Vec<Part> = Vec::new();
        for part in tokens(&s.trim().to_lowercase()).chain([Part::Word(FINAL.to_string())]) {
            if let Part::Word(word) = &part {
                // A pre-release-like word drops the "-" markers before it, and
                // any word drops trailing zeros, so `1.0-a` == `1-a`.
                if word.as_str() < FINAL {
                    while matches!(parts.last(), Some(Part::Word(w)) if w == FINAL_DASH) {
                        parts.pop();
                    }
                }
                while matches!(parts.last(), Some(Part::Number(n)) if n.is_zero()) {
                    parts.pop();
                }
            }
            parts.push(part);
        }
        LegacyKey(parts)
    }
}

/// Splits a lowercased legacy version into parts: runs of digits, runs of
/// ASCII letters, `-`, and runs of any other character; dots only separate.
fn tokens(s: &str) -> impl Iterator<Item = Part> + '_ {
    let mut rest = s;
    std::iter::from_fn(move || {
        loop {
            let first = rest.chars().next()?;
            let len = match first {
                '.' => {
                    rest = rest.get(1..).unwrap_or_default();
                    continue;
                }
                '-' => 1,
                c if c.is_ascii_digit() => run_len(rest, |c| c.is_ascii_digit()),
                c if c.is_ascii_lowercase() => run_len(rest, |c| c.is_ascii_lowercase()),
                _ => run_len(rest, |c| {
                    !(c.is_ascii_digit() || c.is_ascii_lowercase() || c == '.' || c == '-')
                }),
            };
            let (token, tail) = rest.split_at(len);
            rest = tail;
            if let Some(n) = Digits::parse(token) {
                return Some(Part::Number(n));
            }
            let word = match token {
                "pre" | "preview" | "rc" => "c",
                "dev" => "@",
                "-" => FINAL_DASH,
                other => other,
            };
            return Some(Part::Word(word.to_string()));
        }
    })
}

/// Returns the byte length of the leading run of characters matching `f`.
fn run_len(s: &str, f: impl Fn(char) -> bool) -> usize {
    s.find(|c: char| !f(c)).unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ecosystem;
    use crate::version::test_support::*;

    const PY: Ecosystem = Ecosystem::PyPI;

    #[test]
    fn follows_pep_440_ordering() {
        // The ordering example of PEP 440 ("Summary of permitted suffixes and
        // relative ordering"), plus epochs and local versions.
        assert_ascending(
            PY,
            &[
                "1.dev0",
                "1.0.dev456",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1.dev456",
                "1.0rc1",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.15",
                "1.1.dev1",
                "2!0.1",
            ],
        );
        assert_lt(
            PY,
            &[
                ("1.0", "1!0.5"),
                ("1.0.9", "1.0.10"),
                ("1.0+local", "1.0.post1"),
                ("1.0a1", "1.0a1+local"),
                ("1.0+abc", "1.0+1"),
                ("1.0+1", "1.0+1.abc"),
            ],
        );
    }

    #[test]
    fn normalises_spellings() {
        assert_eq_versions(
            PY,
            &[
                ("1.0", "1.0.0"),
                ("1.0", "1"),
                ("1.0RC1", "1.0rc1"),
                ("1.0c1", "1.0rc1"),
                ("1.0-1", "1.0.post1"),
                ("1.0.rev1", "1.0.post1"),
                ("1.0r1", "1.0.post1"),
                ("1.0alpha1", "1.0a1"),
                ("1.0-beta.2", "1.0b2"),
                ("1.0pre3", "1.0rc3"),
                ("1.0preview3", "1.0rc3"),
                ("1.0.dev", "1.0.dev0"),
                ("1.0a", "1.0a0"),
                ("v1.0", "1.0"),
                (" 1.0\n", "1.0"),
                ("0!1.0", "1.0"),
                ("1.0+ubuntu-1", "1.0+ubuntu.1"),
                ("1.0+ABC", "1.0+abc"),
                ("1.01", "1.1"),
                ("1.0-dev1", "1.0.dev1"),
            ],
        );
    }

    #[test]
    fn legacy_versions_parse_and_sort_below_pep_440() {
        for legacy in [
            "trunk",
            "0.3m1",
            "2004d",
            "1.0-SNAPSHOT",
            "dev",
            "1.2.3.x",
            "99999999999999999999999",
        ] {
            assert!(matches!(parse(legacy), Key::PyLegacy(_)), "{legacy}");
            assert_lt(PY, &[(legacy, "0.0.dev0"), (legacy, "0")]);
        }
    }

    #[test]
    fn legacy_versions_compare_by_components() {
        assert_ascending(
            PY,
            &["0.3m1", "0.3m2", "0.3m10", "0.3.1m1", "0.4m1", "1.2.3.x", "1.2.4.x"],
        );
        // Words sort below numbers, dev below everything else, and trailing
        // zeros do not count.
        assert_lt(
            PY,
            &[
                ("1.2.3.dev-x", "1.2.3.a-x"),
                ("1.2.x", "1.2.0.1.x"),
                ("foo", "1.x"),
                ("2004d", "2004e"),
                ("2004d", "2005a"),
            ],
        );
        assert_eq_versions(PY, &[("1.0.0.x", "1.x"), ("TRUNK", "trunk"), ("1.2.x", "1.2.0.x")]);
    }

    #[test]
    fn never_rejects_non_blank_strings() {
        for s in ["!", "~~", "💥", "1.0+", "1..0", "1.0 beta", "*", "=="] {
            assert!(crate::Version::parse(PY, s).is_ok(), "{s:?}");
        }
    }
}
