//! SemVer 2.0 ecosystems: crates.io, npm, Pub, Hex and SwiftURL.
//!
//! All five order by SemVer precedence, where build metadata does not count;
//! dropping the build metadata from the key makes `semver::Version`'s own
//! order exactly that precedence (Cargo's `cmp_precedence`).

use super::Reason;

/// The largest integer npm accepts in a version (JavaScript's
/// `Number.MAX_SAFE_INTEGER`); npm's `semver` throws above it.
const NPM_MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Parses a strict SemVer 2.0 version and returns its precedence key.
pub(crate) fn parse_strict(s: &str) -> Result<semver::Version, Reason> {
    let mut v = semver::Version::parse(s).map_err(|e| Reason::Owned(e.to_string()))?;
    v.build = semver::BuildMetadata::EMPTY;
    Ok(v)
}

/// Parses an exact npm version and returns its precedence key.
///
/// Like npm's `semver.clean`, surrounding whitespace and a leading run of
/// `v` and `=` are ignored. A fourth numeric component is rejected (never
/// dropped), as are components above `Number.MAX_SAFE_INTEGER`.
pub(crate) fn parse_npm(s: &str) -> Result<semver::Version, Reason> {
    let cleaned = s.trim().trim_start_matches(['v', '=']);
    let v = parse_strict(cleaned)?;
    if [v.major, v.minor, v.patch].iter().any(|&n| n > NPM_MAX_SAFE_INTEGER) {
        return Err(Reason::Borrowed(
            "component above 9007199254740991 (npm's MAX_SAFE_INTEGER)",
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use crate::Ecosystem;
    use crate::version::test_support::*;

    /// The precedence example of the SemVer 2.0 specification, section 11.
    const SEMVER_SPEC_ORDER: &[&str] = &[
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
        "2.1.0",
        "2.1.1",
    ];

    const SEMVER_ECOSYSTEMS: [Ecosystem; 5] = [
        Ecosystem::CratesIo,
        Ecosystem::Npm,
        Ecosystem::Pub,
        Ecosystem::Hex,
        Ecosystem::SwiftUrl,
    ];

    #[test]
    fn follows_semver_spec_precedence() {
        for e in SEMVER_ECOSYSTEMS {
            assert_ascending(e, SEMVER_SPEC_ORDER);
            assert_lt(
                e,
                &[
                    ("1.0.0-2", "1.0.0-10"),
                    ("1.0.0-9", "1.0.0-a"),
                    ("1.0.0-Z", "1.0.0-a"),
                    ("1.0.0-a.b", "1.0.0-a-b"),
                    ("1.0.0-alpha", "1.0.0-alpha.0"),
                    ("1.0.0-18446744073709551616", "1.0.0-99999999999999999999999"),
                    ("1.9.0", "1.10.0"),
                    ("0.0.9", "0.1.0"),
                ],
            );
        }
    }

    #[test]
    fn build_metadata_does_not_order() {
        for e in SEMVER_ECOSYSTEMS {
            assert_eq_versions(
                e,
                &[
                    ("1.0.0+build.1", "1.0.0+build.2"),
                    ("1.0.0+001", "1.0.0"),
                    ("1.0.0-rc.1+exp.sha.5114f85", "1.0.0-rc.1"),
                ],
            );
        }
    }

    #[test]
    fn strict_ecosystems_reject_loose_forms() {
        for e in [Ecosystem::CratesIo, Ecosystem::Pub, Ecosystem::Hex, Ecosystem::SwiftUrl] {
            assert_invalid(
                e,
                &[
                    "v1.0.0",
                    "=1.0.0",
                    " 1.0.0",
                    "1.0",
                    "1",
                    "1.0.0.0",
                    "01.0.0",
                    "1.0.0-01",
                    "1.0.0-",
                    "1.0.0+",
                    "1.0.0-a..b",
                    "1.0.0-é",
                    "18446744073709551616.0.0",
                    "latest",
                    "1.x",
                    "^1.0.0",
                ],
            );
        }
    }

    #[test]
    fn npm_accepts_what_clean_accepts() {
        assert_eq_versions(
            Ecosystem::Npm,
            &[
                ("v1.2.3", "1.2.3"),
                ("=1.2.3", "1.2.3"),
                ("=v1.2.3", "1.2.3"),
                (" 1.2.3\n", "1.2.3"),
                ("\tv1.2.3-beta.1 ", "1.2.3-beta.1"),
                ("1.2.3+build", "1.2.3"),
            ],
        );
    }

    #[test]
    fn npm_rejects_a_fourth_component_and_unsafe_numbers() {
        assert_invalid(
            Ecosystem::Npm,
            &[
                "1.0.0.1",
                "1.0.0.0",
                "1.0",
                "9007199254740992.0.0",
                "0.9007199254740992.0",
                "99999999999999999999999.0.0",
                "1.2.3 4",
                "1.2.3-01",
                "01.2.3",
                "x.y.z",
                "*",
            ],
        );
        assert_lt(Ecosystem::Npm, &[("9007199254740990.0.0", "9007199254740991.0.0")]);
    }
}
