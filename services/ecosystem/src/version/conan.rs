//! ConanCenter versions, ordered loosely as Conan 2's `Version` does.
//!
//! `main[-pre][+build]` (split at the last `+`, then at the last `-`). The
//! main part is dotted components with trailing zero components ignored
//! (`1.0` == `1.0.0`); a prerelease sorts below the same main part without
//! one; build metadata sorts above none. Conan accepts any string, and so
//! does this module.
//!
//! Conan compares two numeric components as numbers and anything else as
//! strings, which is not transitive (`2` < `10` < `1a` < `2`). Components
//! here compare as natural-sort runs of digits and non-digits instead: two
//! numbers still compare as numbers, and `1.1.1k` (OpenSSL style) sorts
//! after `1.1.1` and below `1.1.2`, as intended.

use super::digits::Digits;

/// The ordering key of a Conan version.
///
/// Derived order: main components, then prerelease (`Pre` below `Release`),
/// then build (none below some). Zero components are stripped from the end
/// of every part, so equal keys are exactly those that order equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ConanKey {
    main: Vec<Component>,
    pre: Pre,
    build: Option<Vec<Component>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Pre {
    Pre(Vec<Component>),
    Release,
}

/// A dotted component as runs; an empty component has no runs.
type Component = Vec<Run>;

/// A run of a component; the variant order puts numbers below words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Run {
    Number(Digits),
    Text(String),
}

/// Parses any string into its Conan ordering key.
pub(crate) fn parse(s: &str) -> ConanKey {
    let (rest, build) = match s.rsplit_once('+') {
        Some((rest, build)) => (rest, Some(components(build))),
        None => (s, None),
    };
    let (main, pre) = match rest.rsplit_once('-') {
        Some((main, pre)) => (main, Pre::Pre(components(pre))),
        None => (rest, Pre::Release),
    };
    ConanKey {
        main: components(main),
        pre,
        build,
    }
}

fn components(s: &str) -> Vec<Component> {
    let mut out: Vec<Component> = s.split('.').map(runs).collect();
    while out
        .last()
        .is_some_and(|c| matches!(c.as_slice(), [Run::Number(n)] if n.is_zero()))
    {
        out.pop();
    }
    out
}

fn runs(component: &str) -> Component {
    let mut out = Vec::new();
    let mut rest = component;
    while let Some(c) = rest.chars().next() {
        let digit = c.is_ascii_digit();
        let len = rest.find(|c: char| c.is_ascii_digit() != digit).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(len);
        rest = tail;
        out.push(match Digits::parse(run) {
            Some(n) => Run::Number(n),
            None => Run::Text(run.to_string()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::Ecosystem;
    use crate::version::test_support::*;

    const CONAN: Ecosystem = Ecosystem::ConanCenter;

    #[test]
    fn numeric_components_compare_as_numbers() {
        assert_ascending(
            CONAN,
            &[
                "0.9", "1", "1.0.1", "1.2", "1.10", "1.10.1", "2.0-pre", "2.0", "2.0+1", "2.0+2", "10",
            ],
        );
        assert_eq_versions(
            CONAN,
            &[("1.0", "1.0.0"), ("1", "1.0"), ("01.2", "1.2"), ("1.0-pre.0", "1-pre")],
        );
    }

    #[test]
    fn letters_compare_lexically_and_naturally() {
        assert_ascending(
            CONAN,
            &["1.1.0", "1.1.1", "1.1.1a", "1.1.1k", "1.1.1t", "1.1.2", "3.0.0"],
        );
        assert_lt(
            CONAN,
            &[
                ("9c", "9d"),
                ("9e", "10"),
                ("cci.20200101", "cci.20210101"),
                ("1.0-alpha", "1.0-beta"),
                ("1.0-beta.2", "1.0-beta.10"),
                ("1.0-rc1", "1.0"),
                ("system", "zlib"),
            ],
        );
    }

    #[test]
    fn anything_non_blank_parses() {
        for s in ["-", "+", "..", "a-b+c-d", "v1.2", "[>1.0 <2.0]", "é"] {
            assert!(crate::Version::parse(CONAN, s).is_ok(), "{s:?}");
        }
    }
}
