//! NuGet versions, ordered as `NuGet.Versioning`'s `VersionComparer` does.
//!
//! One to four numeric parts (a missing part is 0, so `1.0` == `1.0.0.0`),
//! each a non-negative 32-bit integer; then an optional `-` and dot-separated
//! release labels; then optional `+` build metadata, which does not order.
//! A version with labels sorts below the same version without. Labels
//! compare pairwise: two numeric labels numerically, a numeric label below a
//! word, two words case-insensitively; with equal prefixes, fewer labels
//! sort first.

use std::cmp::Ordering;

use super::Reason;

/// The ordering key of a NuGet version.
///
/// Labels are stored lowercased and numbers as values, so keys that order
/// equal are equal and the derived `Hash` agrees with the order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NuGetKey {
    release: [u32; 4],
    labels: Vec<Label>,
}

/// A release label; the variant order puts numbers below words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Label {
    Number(u32),
    Word(String),
}

/// The largest number NuGet reads (`int.MaxValue`).
const MAX_PART: u32 = i32::MAX as u32;

/// Parses a NuGet version into its ordering key.
pub(crate) fn parse(s: &str) -> Result<NuGetKey, Reason> {
    let (rest, metadata) = match s.split_once('+') {
        Some((rest, metadata)) => (rest, Some(metadata)),
        None => (s, None),
    };
    if let Some(metadata) = metadata
        && !metadata.split('.').all(is_identifier)
    {
        return Err(Reason::Borrowed("malformed build metadata after '+'"));
    }
    let (numbers, labels) = match rest.split_once('-') {
        Some((numbers, labels)) => (numbers, Some(labels)),
        None => (rest, None),
    };

    let mut release = [0u32; 4];
    for (i, part) in numbers.split('.').enumerate() {
        let slot = release
            .get_mut(i)
            .ok_or(Reason::Borrowed("more than four numeric parts"))?;
        *slot = number(part).ok_or(Reason::Borrowed(
            "numeric parts must be digits no larger than 2147483647",
        ))?;
    }

    let labels = match labels {
        None => Vec::new(),
        Some(labels) => labels
            .split('.')
            .map(|l| {
                if !is_identifier(l) {
                    return Err(Reason::Borrowed(
                        "release labels must be non-empty runs of letters, digits and '-'",
                    ));
                }
                // `int.TryParse` decides what is numeric: a label too large
                // for an int compares as a word.
                Ok(number(l).map_or_else(|| Label::Word(l.to_ascii_lowercase()), Label::Number))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(NuGetKey { release, labels })
}

/// Returns the value of a run of ASCII digits that fits in an `int`.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|n| *n <= MAX_PART)
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Ord for NuGetKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.release.cmp(&other.release).then_with(|| {
            match (self.labels.is_empty(), other.labels.is_empty()) {
                (true, true) => Ordering::Equal,
                // A release sorts above its prereleases.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.labels.cmp(&other.labels),
            }
        })
    }
}

impl PartialOrd for NuGetKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use crate::Ecosystem;
    use crate::version::test_support::*;

    const NUGET: Ecosystem = Ecosystem::NuGet;

    #[test]
    fn missing_parts_are_zero() {
        assert_eq_versions(
            NUGET,
            &[
                ("1.0", "1.0.0.0"),
                ("1", "1.0.0"),
                ("1.0.0", "1.0.0.0"),
                ("01.2", "1.2"),
                ("1.0.0-beta", "1.0-beta"),
            ],
        );
    }

    #[test]
    fn labels_compare_case_insensitively_and_metadata_is_ignored() {
        assert_eq_versions(
            NUGET,
            &[
                ("1.0.0-BETA", "1.0.0-beta"),
                ("1.0.0-Beta.1", "1.0.0-beta.1"),
                ("1.0.0+build", "1.0.0"),
                ("1.0.0-rc.1+abc", "1.0.0-RC.1+def"),
                ("1.0.0.0+x.y", "1.0"),
                ("1.0.0-01", "1.0.0-1"),
            ],
        );
    }

    #[test]
    fn orders_as_version_comparer() {
        // Along the lines of NuGet.Versioning's VersionComparerTests.
        assert_ascending(
            NUGET,
            &[
                "0.9",
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-Beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "1.0.0.1-alpha",
                "1.0.0.1",
                "1.0.1",
                "1.0.10",
                "1.1",
                "2",
                "2147483647.0",
            ],
        );
        assert_lt(
            NUGET,
            &[
                ("1.0.0-1", "1.0.0-a"),
                ("1.0.0-2", "1.0.0-10"),
                ("1.0.0-a", "1.0.0-A1"),
                ("1.0.0-2147483647", "1.0.0-2147483648"),
                ("1.0.0-alpha", "1.0.0-alpha-1"),
                ("1.0.0-beta.2.1", "1.0.0-beta.3"),
            ],
        );
    }

    #[test]
    fn rejects_malformed_versions() {
        assert_invalid(
            NUGET,
            &[
                "1.0.0.0.0",
                "1..0",
                "1.",
                ".1",
                "v1.0",
                "1.0-",
                "1.0-beta..1",
                "1.0+",
                "1.0+a..b",
                "1.0-beta_1",
                "2147483648.0",
                "-1.0",
                "1.0 ",
                "a.b",
                "1.0.0-é",
            ],
        );
    }
}
