//! Properties every ecosystem's version order must have: parsing never
//! panics, and the order is a total order consistent with `==` and `Hash`.

use std::cmp::Ordering;
use std::hash::{DefaultHasher, Hash, Hasher};

use proptest::prelude::*;
use zerotrace_ecosystem::{Ecosystem, Version};

/// Tokens that version strings of the various ecosystems are made of, so
/// that random strings often parse and hit the interesting rules.
const TOKENS: &[&str] = &[
    "0",
    "1",
    "2",
    "9",
    "10",
    "01",
    "00",
    "123",
    "20191109021931",
    "4294967296",
    "99999999999999999999",
    "a",
    "b",
    "c",
    "m",
    "p",
    "x",
    "alpha",
    "beta",
    "rc",
    "RC",
    "cr",
    "pre",
    "dev",
    "post",
    "pl",
    "patch",
    "final",
    "ga",
    "release",
    "sp",
    "snapshot",
    "SNAPSHOT",
    "stable",
    "incompatible",
    "daa7c04131f5",
    "Final",
    "local",
    "*",
];
const SEPARATORS: &[&str] = &[".", ".", ".", "-", "+", "_", ""];

/// A version-like string: an optional `v`, then tokens joined by separators.
fn version_like() -> impl Strategy<Value = String> {
    let piece = (prop::sample::select(SEPARATORS), prop::sample::select(TOKENS));
    (
        prop::bool::weighted(0.1),
        prop::sample::select(TOKENS),
        prop::collection::vec(piece, 0..6),
    )
        .prop_map(|(v, first, rest)| {
            let mut s = String::from(if v { "v" } else { "" });
            s.push_str(first);
            for (sep, token) in rest {
                s.push_str(sep);
                s.push_str(token);
            }
            s
        })
}

/// A SemVer-shaped string, so the strict ecosystems parse often too.
fn semver_like() -> impl Strategy<Value = String> {
    let num = prop::sample::select(&["0", "1", "2", "10", "11"][..]);
    let ident = prop::sample::select(&["alpha", "beta", "rc", "1", "2", "10", "x-y", "0"][..]);
    (
        num.clone(),
        num.clone(),
        num,
        prop::collection::vec(ident.clone(), 0..3),
        prop::collection::vec(ident, 0..2),
    )
        .prop_map(|(a, b, c, pre, build)| {
            let mut s = format!("{a}.{b}.{c}");
            if !pre.is_empty() {
                s.push('-');
                s.push_str(&pre.join("."));
            }
            if !build.is_empty() {
                s.push('+');
                s.push_str(&build.join("."));
            }
            s
        })
}

fn any_version_string() -> impl Strategy<Value = String> {
    prop_oneof![version_like(), semver_like()]
}

fn hash_of(v: &Version) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

fn parse_all(e: Ecosystem, inputs: &[String]) -> Vec<Version> {
    inputs.iter().filter_map(|s| Version::parse(e, s).ok()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        for e in Ecosystem::ALL {
            let _ = Version::parse(e, &s);
        }
    }

    #[test]
    fn parse_never_panics_on_ascii_soup(s in "[ -~\t\n]{0,40}") {
        for e in Ecosystem::ALL {
            let _ = Version::parse(e, &s);
        }
    }

    #[test]
    fn parse_never_panics_on_version_like_strings(s in any_version_string()) {
        for e in Ecosystem::ALL {
            if let Ok(v) = Version::parse(e, &s) {
                prop_assert_eq!(v.as_str(), s.as_str());
                prop_assert_eq!(v.ecosystem(), e);
            }
        }
    }

    #[test]
    fn order_is_antisymmetric_and_transitive(
        a in any_version_string(),
        b in any_version_string(),
        c in any_version_string(),
    ) {
        for e in Ecosystem::ALL {
            let vs = parse_all(e, &[a.clone(), b.clone(), c.clone()]);
            for x in &vs {
                prop_assert_eq!(x.cmp(x), Ordering::Equal);
                for y in &vs {
                    prop_assert_eq!(x.cmp(y), y.cmp(x).reverse(), "{} vs {} on {}", x, y, e);
                    prop_assert_eq!(x == y, x.cmp(y) == Ordering::Equal);
                    if x == y {
                        prop_assert_eq!(hash_of(x), hash_of(y), "{} == {} on {}", x, y, e);
                    }
                    for z in &vs {
                        if x <= y && y <= z {
                            prop_assert!(x <= z, "{} <= {} <= {} but not {} <= {} on {}", x, y, z, x, z, e);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn sorting_yields_a_consistent_chain(inputs in prop::collection::vec(any_version_string(), 2..12)) {
        for e in Ecosystem::ALL {
            let mut vs = parse_all(e, &inputs);
            vs.sort();
            for (i, x) in vs.iter().enumerate() {
                for y in vs.iter().skip(i + 1) {
                    prop_assert!(x <= y, "sorted {:?} has {} after {} on {}", vs, y, x, e);
                }
            }
        }
    }
}
