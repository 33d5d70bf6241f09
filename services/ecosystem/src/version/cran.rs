//! CRAN versions, ordered as R's `package_version` orders them.
//!
//! A package version is two or more non-negative integers separated by `.`
//! or `-` (`1.0`, `1.2-3`, `0.9.12-1`): R's `valid_package_version_regexp`.
//! The separators are equivalent, leading zeros do not count (`1.01` ==
//! `1.1`), and versions compare component by component as numbers; when one
//! runs out first it is the lower one (`1.0` < `1.0.0` < `1.0-1`, since R
//! pads the shorter version with -1 before comparing).

use super::Reason;
use super::digits::Digits;

/// Parses a CRAN package version into its components.
pub(crate) fn parse(s: &str) -> Result<Vec<Digits>, Reason> {
    let components: Vec<Digits> = s
        .split(['.', '-'])
        .map(|part| Digits::parse(part).ok_or(Reason::Borrowed("components must be digits separated by '.' or '-'")))
        .collect::<Result<_, _>>()?;
    if components.len() < 2 {
        return Err(Reason::Borrowed("a package version has at least two components"));
    }
    Ok(components)
}

#[cfg(test)]
mod tests {
    use crate::Ecosystem;
    use crate::version::test_support::*;

    const CRAN: Ecosystem = Ecosystem::Cran;

    #[test]
    fn orders_as_package_version() {
        assert_ascending(
            CRAN,
            &[
                "0.1", "0.9-1", "0.9.12", "1.0", "1.0.0", "1.0-1", "1.0.2", "1.2-3", "1.2.10", "1.10", "2.0-0", "10.0",
            ],
        );
        assert_lt(CRAN, &[("1.9", "1.10"), ("3.6.3", "4.0.0"), ("1.4-1", "1.4-10")]);
    }

    #[test]
    fn separators_and_leading_zeros_do_not_count() {
        assert_eq_versions(CRAN, &[("1.2-3", "1.2.3"), ("1.01", "1.1"), ("0.3-02", "0.3.2")]);
    }

    #[test]
    fn rejects_what_r_rejects() {
        assert_invalid(
            CRAN,
            &[
                "1", "1.", ".1", "1..2", "1.2a", "v1.2", "1.2 ", "1_2", "1.2-rc1", "-1.2", "1.2+3",
            ],
        );
    }
}
