//! Non-negative integers of any size, as version components need them.
//!
//! Version components are unbounded in most ecosystems (Maven falls back to
//! `BigInteger`, Ruby to bignums, Go compares digit strings), so parsing
//! them into a fixed-width integer would either overflow or misorder dates
//! and timestamps used as versions.

use std::cmp::Ordering;

/// A non-negative integer kept as its decimal digits without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Digits(Box<str>);

impl Digits {
    /// Returns the number written by `s`, or `None` unless `s` is a
    /// non-empty run of ASCII digits.
    pub(crate) fn parse(s: &str) -> Option<Digits> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trimmed = s.trim_start_matches('0');
        Some(Digits(if trimmed.is_empty() { "0" } else { trimmed }.into()))
    }

    /// Returns zero.
    pub(crate) fn zero() -> Digits {
        Digits("0".into())
    }

    /// Returns whether the number is zero.
    pub(crate) fn is_zero(&self) -> bool {
        &*self.0 == "0"
    }
}

impl Ord for Digits {
    fn cmp(&self, other: &Self) -> Ordering {
        // Without leading zeros, a longer digit string is a larger number;
        // equal lengths compare digit by digit.
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Digits {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Digits {
        Digits::parse(s).unwrap_or_else(|| panic!("{s} is digits"))
    }

    #[test]
    fn orders_numerically_at_any_size() {
        assert!(d("9") < d("10"));
        assert!(d("007") < d("10"));
        assert_eq!(d("000"), Digits::zero());
        assert!(d("0").is_zero() && d("00").is_zero() && !d("10").is_zero());
        assert!(d("99999999999999999999999") < d("100000000000000000000000"));
        assert_eq!(d("0012"), d("12"));
    }

    #[test]
    fn rejects_non_digits() {
        assert_eq!(Digits::parse(""), None);
        assert_eq!(Digits::parse("1a"), None);
        assert_eq!(Digits::parse("-1"), None);
        assert_eq!(Digits::parse("١"), None);
    }
}
