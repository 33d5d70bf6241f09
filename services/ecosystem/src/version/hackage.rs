//! Hackage versions, ordered as Cabal's `Version` orders them.
//!
//! A version is one or more numbers separated by dots (`1`, `0.2.4.1`).
//! Cabal refuses a number with a leading zero (other than `0` itself) or
//! with more than nine digits, and tags (`1.0-beta`, deprecated since Cabal
//! 2.0); so does this module. Versions compare component by component as
//! numbers, and a version that is a prefix of another is the lower one
//! (`1.0` < `1.0.0`).

use super::Reason;

/// The most digits Cabal reads in one version component.
const MAX_DIGITS: usize = 9;

/// Parses a Hackage version into its components.
pub(crate) fn parse(s: &str) -> Result<Vec<u32>, Reason> {
    s.split('.')
        .map(|part| {
            let digits_only = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            if !digits_only {
                return Err(Reason::Borrowed("components must be digits separated by '.'"));
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(Reason::Borrowed("a component has a leading zero"));
            }
            if part.len() > MAX_DIGITS {
                return Err(Reason::Borrowed("a component has more than nine digits"));
            }
            part.parse::<u32>()
                .map_err(|_| Reason::Borrowed("components must be digits separated by '.'"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::Ecosystem;
    use crate::version::test_support::*;

    const HACKAGE: Ecosystem = Ecosystem::Hackage;

    #[test]
    fn orders_as_cabal() {
        assert_ascending(
            HACKAGE,
            &[
                "0",
                "0.1",
                "0.1.0",
                "0.1.0.0",
                "0.1.1",
                "0.2",
                "1",
                "1.0",
                "1.2.3.4",
                "1.10",
                "2",
                "999999999",
            ],
        );
        assert_lt(HACKAGE, &[("4.17.0.0", "4.17.1"), ("2.1.9", "2.1.10")]);
    }

    #[test]
    fn rejects_what_cabal_rejects() {
        assert_invalid(
            HACKAGE,
            &[
                "01",
                "1.02",
                "1.0-beta",
                "1.",
                ".1",
                "1..2",
                "v1",
                "1.2 ",
                "1000000000",
                "1.a",
                "-1",
                "1,2",
            ],
        );
    }
}
