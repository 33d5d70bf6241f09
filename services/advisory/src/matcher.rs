//! Version matching per the OSV schema, on pre-parsed versions (the rules
//! are documented on the crate root, "Matching").

use std::cmp::Ordering;

use zerotrace_ecosystem::{Ecosystem, Version};

use crate::osv::{Affected, EventKind};

/// A range bound: the `"0"` sentinel or a parsed version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Bound {
    Zero,
    At(Version),
}

impl Bound {
    fn cmp_version(&self, v: &Version) -> Ordering {
        match self {
            Bound::Zero => Ordering::Less,
            Bound::At(b) => b.cmp(v),
        }
    }
}

/// A `SEMVER` or `ECOSYSTEM` range with its events parsed and sorted.
#[derive(Debug, Clone)]
pub(crate) struct PreparedRange {
    events: Vec<(Bound, EventKind)>,
    limits: Vec<Version>,
}

impl PreparedRange {
    /// Returns whether `v` is inside the range.
    pub(crate) fn contains(&self, v: &Version) -> bool {
        let mut affected = false;
        for (bound, kind) in &self.events {
            let ord = bound.cmp_version(v);
            if ord == Ordering::Greater {
                // Events are sorted: no later event can apply to `v`.
                break;
            }
            match kind {
                EventKind::Introduced => affected = true,
                EventKind::Fixed => affected = false,
                EventKind::LastAffected if ord == Ordering::Less => affected = false,
                EventKind::LastAffected | EventKind::Limit => {}
            }
        }
        affected && (self.limits.is_empty() || self.limits.iter().any(|l| v < l))
    }
}

/// One `affected[]` entry, ready to match versions of its package.
#[derive(Debug, Clone, Default)]
pub(crate) struct PreparedAffected {
    ranges: Vec<PreparedRange>,
    /// Parsed explicit versions, sorted for binary search.
    versions: Vec<Version>,
    /// Explicit versions as written, for packages whose version does not parse.
    raw_versions: Vec<String>,
}

impl PreparedAffected {
    /// Prepares an affected entry for matching in `eco`; adds the number of
    /// bounds that did not parse to `skipped`.
    pub(crate) fn new(eco: Ecosystem, affected: &Affected, skipped: &mut usize) -> Self {
        let mut ranges = Vec::new();
        for range in &affected.ranges {
            if range.kind != "SEMVER" && range.kind != "ECOSYSTEM" {
                continue;
            }
            let mut events = Vec::with_capacity(range.events.len());
            let mut limits = Vec::new();
            for event in &range.events {
                let text = event.version.trim();
                if event.kind == EventKind::Limit {
                    if text == "*" {
                        continue;
                    }
                    match Version::parse(eco, text) {
                        Ok(v) => limits.push(v),
                        Err(_) => *skipped += 1,
                    }
                    continue;
                }
                if event.kind == EventKind::Introduced && text == "0" {
                    events.push((Bound::Zero, event.kind));
                    continue;
                }
                match Version::parse(eco, text) {
                    Ok(v) => events.push((Bound::At(v), event.kind)),
                    Err(_) => *skipped += 1,
                }
            }
            if !events.iter().any(|(_, k)| *k == EventKind::Introduced) {
                continue;
            }
            events.sort();
            ranges.push(PreparedRange { events, limits });
        }
        let mut versions: Vec<Version> = affected
            .versions
            .iter()
            .filter_map(|s| Version::parse(eco, s.trim()).ok())
            .collect();
        versions.sort();
        versions.dedup();
        PreparedAffected {
            ranges,
            versions,
            raw_versions: affected.versions.clone(),
        }
    }

    /// Returns whether a parsed package version is affected.
    pub(crate) fn affects(&self, v: &Version) -> bool {
        self.versions.binary_search(v).is_ok() || self.ranges.iter().any(|r| r.contains(v))
    }

    /// Returns whether an unparsable package version is listed verbatim.
    pub(crate) fn lists_verbatim(&self, raw: &str) -> bool {
        self.raw_versions.iter().any(|s| s.trim() == raw)
    }

    /// Returns whether the entry can match anything at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.raw_versions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::{Event, Range};

    fn entry(kind: &str, events: &[(EventKind, &str)], versions: &[&str]) -> Affected {
        Affected {
            ecosystem: Some("crates.io".into()),
            name: Some("x".into()),
            ranges: vec![Range {
                kind: kind.into(),
                events: events
                    .iter()
                    .map(|(kind, v)| Event {
                        kind: *kind,
                        version: (*v).into(),
                    })
                    .collect(),
            }],
            versions: versions.iter().map(|v| (*v).to_string()).collect(),
            severity: vec![],
            informational: None,
            label: None,
        }
    }

    fn hits(a: &Affected, v: &str) -> bool {
        let mut skipped = 0;
        let p = PreparedAffected::new(Ecosystem::CratesIo, a, &mut skipped);
        let v = Version::parse(Ecosystem::CratesIo, v).unwrap();
        p.affects(&v)
    }

    use EventKind::{Fixed, Introduced, LastAffected, Limit};

    #[test]
    fn introduced_fixed() {
        let a = entry("SEMVER", &[(Introduced, "0"), (Fixed, "1.2.3")], &[]);
        assert!(hits(&a, "0.0.1"));
        assert!(hits(&a, "1.2.2"));
        assert!(!hits(&a, "1.2.3"));
        assert!(!hits(&a, "2.0.0"));
    }

    #[test]
    fn unsorted_events_and_several_pairs() {
        let a = entry(
            "SEMVER",
            &[
                (Fixed, "2.1.0"),
                (Introduced, "2.0.0"),
                (Fixed, "1.5.0"),
                (Introduced, "1.0.0"),
            ],
            &[],
        );
        assert!(!hits(&a, "0.9.0"));
        assert!(hits(&a, "1.0.0"));
        assert!(hits(&a, "1.4.9"));
        assert!(!hits(&a, "1.5.0"));
        assert!(!hits(&a, "1.9.9"));
        assert!(hits(&a, "2.0.5"));
        assert!(!hits(&a, "2.1.0"));
    }

    #[test]
    fn last_affected_is_inclusive() {
        let a = entry("ECOSYSTEM", &[(Introduced, "1.0.0"), (LastAffected, "1.3.0")], &[]);
        assert!(hits(&a, "1.3.0"));
        assert!(!hits(&a, "1.3.1"));
        assert!(!hits(&a, "0.1.0"));
    }

    #[test]
    fn open_ended_and_limits() {
        let open = entry("SEMVER", &[(Introduced, "1.0.0")], &[]);
        assert!(hits(&open, "99.0.0"));
        let limited = entry("SEMVER", &[(Introduced, "1.0.0"), (Limit, "2.0.0")], &[]);
        assert!(hits(&limited, "1.9.0"));
        assert!(!hits(&limited, "2.0.0"));
        let star = entry("SEMVER", &[(Introduced, "1.0.0"), (Limit, "*")], &[]);
        assert!(hits(&star, "5.0.0"));
    }

    #[test]
    fn explicit_versions_win_and_git_never_matches() {
        let a = entry("SEMVER", &[(Introduced, "0"), (Fixed, "1.0.0")], &["1.5.0"]);
        assert!(hits(&a, "1.5.0"));
        assert!(!hits(&a, "1.6.0"));
        let git = entry("GIT", &[(Introduced, "0")], &[]);
        assert!(!hits(&git, "0.1.0"));
    }

    #[test]
    fn bad_bounds_are_skipped() {
        let mut skipped = 0;
        let a = entry("SEMVER", &[(Introduced, "0"), (Fixed, "not a version")], &[]);
        let p = PreparedAffected::new(Ecosystem::CratesIo, &a, &mut skipped);
        assert_eq!(skipped, 1);
        assert!(p.affects(&Version::parse(Ecosystem::CratesIo, "9.0.0").unwrap()));
        let b = entry("SEMVER", &[(Introduced, "bogus"), (Fixed, "1.0.0")], &[]);
        let p = PreparedAffected::new(Ecosystem::CratesIo, &b, &mut skipped);
        assert_eq!(skipped, 2);
        assert!(!p.affects(&Version::parse(Ecosystem::CratesIo, "0.5.0").unwrap()));
    }

    #[test]
    fn equal_introduced_and_fixed_is_empty() {
        let a = entry("SEMVER", &[(Fixed, "1.0.0"), (Introduced, "1.0.0")], &[]);
        assert!(!hits(&a, "1.0.0"));
        assert!(!hits(&a, "1.1.0"));
    }
}
