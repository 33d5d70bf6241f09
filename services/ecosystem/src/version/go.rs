//! Go module versions, as `golang.org/x/mod/semver` orders them.
//!
//! Go versions are SemVer with a `v` prefix (optional here, as lockfile
//! tooling and some advisories drop it), shorthands `v1` and `v1.2` meaning
//! `v1.0.0` and `v1.2.0`, and build metadata such as `+incompatible` that
//! does not order. Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`)
//! are ordinary prereleases, so SemVer precedence orders them already.

use super::Reason;

/// Returns the Go toolchain release `name` (`go1.21.3`, `1.21`, `go1.22rc1`,
/// `go1.22.5 X:boringcrypto`) as the SemVer version OSV's Go advisories use
/// for `stdlib` and `toolchain`, without the leading `v`: `1.21.3`,
/// `1.21.0`, `1.22.0-rc.1`.
///
/// Follows the Go vulnerability database's tag conversion: a release
/// without a patch number is its `.0`, `betaN`/`rcN` become `-beta.N`/`-rc.N`,
/// and anything after a space or a `-` (experiments, custom builds) is
/// dropped. Returns `None` for what is not a release (`devel go1.23-abc`,
/// `default`, `local`).
pub fn toolchain_version(name: &str) -> Option<String> {
    let name = name.split_whitespace().next()?;
    let name = name.strip_prefix("go").unwrap_or(name);
    let name = name.split(['-', '+']).next()?;
    let is_number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (release, pre) = match name.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (name.get(..i)?, Some(name.get(i..)?)),
        None => (name, None),
    };
    let parts: Vec<&str> = release.split('.').collect();
    if !parts.iter().all(|p| is_number(p)) {
        return None;
    }
    let mut version = match parts.as_slice() {
        [major, minor] => format!("{major}.{minor}.0"),
        [major, minor, patch] => format!("{major}.{minor}.{patch}"),
        _ => return None,
    };
    if let Some(pre) = pre {
        let (label, number) = ["beta", "rc"]
            .iter()
            .find_map(|label| pre.strip_prefix(label).map(|n| (*label, n)))?;
        if !is_number(number) {
            return None;
        }
        version.push_str(&format!("-{label}.{number}"));
    }
    parse(&version).ok()?;
    Some(version)
}

/// Parses a Go module version and returns its precedence key.
pub(crate) fn parse(s: &str) -> Result<semver::Version, Reason> {
    let body = s.strip_prefix('v').unwrap_or(s);
    let main_len = body.find(['-', '+']).unwrap_or(body.len());
    let (main, suffix) = body.split_at(main_len);
    let full = match main.split('.').count() {
        3 => body.to_string(),
        // Go's semver only expands a shorthand that has nothing after it:
        // `v1.2-pre` is not a valid version.
        1 | 2 if !suffix.is_empty() => {
            return Err(Reason::Borrowed(
                "a shorthand version cannot carry a prerelease or build",
            ));
        }
        1 => format!("{main}.0.0"),
        2 => format!("{main}.0"),
        _ => return Err(Reason::Borrowed("more than three numeric components")),
    };
    super::semver_rules::parse_strict(&full)
}

#[cfg(test)]
mod tests {
    use crate::Ecosystem;
    use crate::version::test_support::*;

    const GO: Ecosystem = Ecosystem::Go;

    #[test]
    fn orders_like_x_mod_semver() {
        assert_ascending(
            GO,
            &[
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.0.0-20200101000000-aaaaaaaaaaaa",
                "v0.0.1",
                "v0.1.0",
                "v1.0.0-alpha",
                "v1.0.0-alpha.1",
                "v1.0.0-beta",
                "v1.0.0-rc.1",
                "v1.0.0",
                "v1.2.3",
                "v1.2.4-0.20191109021931-daa7c04131f5",
                "v1.2.4",
                "v1.10.0",
                "v2.0.0+incompatible",
                "v2.0.1",
            ],
        );
    }

    #[test]
    fn pseudo_versions_sort_below_their_base_release() {
        assert_lt(
            GO,
            &[
                ("v1.2.3-pre.0.20191109021931-daa7c04131f5", "v1.2.3-pre.1"),
                (
                    "v1.2.4-0.20191109021931-daa7c04131f5",
                    "v1.2.4-0.20191109021932-aaaaaaaaaaaa",
                ),
                ("v0.0.0-20191109021931-daa7c04131f5", "v0.0.0"),
            ],
        );
    }

    #[test]
    fn shorthands_prefix_and_incompatible_do_not_change_order() {
        assert_eq_versions(
            GO,
            &[
                ("v1", "v1.0.0"),
                ("v1.2", "v1.2.0"),
                ("1.2.3", "v1.2.3"),
                ("v2.0.0+incompatible", "v2.0.0"),
                ("v1.2.3+meta", "v1.2.3"),
            ],
        );
    }

    #[test]
    fn toolchain_names_become_vulndb_versions() {
        use super::toolchain_version;
        for (name, want) in [
            ("go1.21.3", Some("1.21.3")),
            ("1.21.3", Some("1.21.3")),
            ("1.21", Some("1.21.0")),
            ("go1.20", Some("1.20.0")),
            ("go1.22rc1", Some("1.22.0-rc.1")),
            ("go1.19beta2", Some("1.19.0-beta.2")),
            ("go1.9.2rc2", Some("1.9.2-rc.2")),
            ("go1.22.5 X:boringcrypto", Some("1.22.5")),
            ("go1.21.0-custom", Some("1.21.0")),
            ("devel go1.23-abcdef", None),
            ("default", None),
            ("go1", None),
            ("go1.21.x", None),
            ("go1.21alpha1", None),
            ("go1.21rc", None),
            ("", None),
        ] {
            assert_eq!(toolchain_version(name).as_deref(), want, "{name}");
        }
        assert_lt(GO, &[("1.21.0-rc.2", "1.21.0"), ("1.20.14", "1.21.0-rc.1")]);
    }

    #[test]
    fn rejects_what_go_rejects() {
        assert_invalid(
            GO,
            &[
                "v",
                "V1.2.3",
                "v1.2-pre",
                "v1-pre",
                "v1+meta",
                "v1.2.3.4",
                "v01.2.3",
                "v1.02",
                "v1.2.3-01",
                "v1.2.3-",
                "v1.2.3+",
                "vv1.2.3",
                " v1.2.3",
                "v1..3",
                "latest",
                "v1.2.3-a..b",
            ],
        );
    }
}
