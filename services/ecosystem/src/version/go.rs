//! Go module versions, as `golang.org/x/mod/semver` orders them.
//!
//! Go versions are SemVer with a `v` prefix (optional here, as lockfile
//! tooling and some advisories drop it), shorthands `v1` and `v1.2` meaning
//! `v1.0.0` and `v1.2.0`, and build metadata such as `+incompatible` that
//! does not order. Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`)
//! are ordinary prereleases, so SemVer precedence orders them already.

use super::Reason;

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
