//! How current the advisory data is: the sources it comes from (the OSV
//! advisories of each ecosystem, the CISA KEV catalog, the EPSS scores),
//! when each was current, and the one rule that says when data is too old
//! or missing for a scan to be trusted ([`notices`]).
//!
//! A source's `as_of` is the time its data was current: the server's
//! `Last-Modified` for a download, else the newest timestamp in the data
//! itself (the newest OSV `modified` of the ecosystem, KEV `dateReleased`,
//! EPSS `score_date`). An old snapshot imported today is therefore as old
//! as its data, not as new as the import.

use serde::{Deserialize, Serialize};
use zerotrace_ecosystem::Ecosystem;

use crate::time::{format_age, format_date};

/// The age past which data is too old to trust without a warning: five
/// days, as grype's default `max-allowed-built-age`; osv.dev, KEV and EPSS
/// all publish daily or more often.
pub const DEFAULT_MAX_AGE_SECS: u64 = 5 * 86_400;

/// A source of advisory data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feed {
    /// The OSV advisories of one ecosystem.
    Osv(Ecosystem),
    /// The CISA Known Exploited Vulnerabilities catalog.
    Kev,
    /// The FIRST EPSS daily scores.
    Epss,
}

impl Feed {
    /// Every source a complete database has: each ecosystem's OSV data, KEV and EPSS.
    pub fn all() -> Vec<Feed> {
        Ecosystem::ALL
            .into_iter()
            .map(Feed::Osv)
            .chain([Feed::Kev, Feed::Epss])
            .collect()
    }

    /// The source's stable name: `osv:crates.io`, `kev`, `epss` (also the
    /// `source` label of the data metrics).
    pub fn name(self) -> String {
        match self {
            Feed::Osv(eco) => format!("osv:{}", eco.osv_name()),
            Feed::Kev => "kev".to_string(),
            Feed::Epss => "epss".to_string(),
        }
    }

    /// Returns the source of a name written by [`Feed::name`].
    pub fn parse(name: &str) -> Option<Feed> {
        match name {
            "kev" => Some(Feed::Kev),
            "epss" => Some(Feed::Epss),
            _ => name.strip_prefix("osv:").and_then(Ecosystem::from_osv).map(Feed::Osv),
        }
    }
}

impl std::fmt::Display for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// One source as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// The source's name ([`Feed::name`]).
    pub name: String,
    /// When its data was current, Unix seconds (see the module
    /// documentation); `None` when nothing in it carries a time.
    pub as_of: Option<u64>,
    /// When it was last imported or synced, Unix seconds.
    pub imported_at: u64,
    /// The database generation of that import.
    pub generation: u64,
    /// Advisories (OSV) or entries (KEV, EPSS) it holds now.
    pub entries: usize,
    /// Where it came from: a URL or a path.
    pub origin: String,
}

impl SourceState {
    /// How old the data is at `now` (Unix seconds); `None` when unknown.
    pub fn age(&self, now: u64) -> Option<u64> {
        self.as_of.map(|t| now.saturating_sub(t))
    }
}

/// The freshness rule, the one place that says when a scan cannot trust
/// its data: one line per source that a scan of `ecosystems` needs and
/// that is older than `max_age` seconds (or of unknown age), and one for
/// KEV or EPSS when missing (risk scores then lack exploitation data).
/// Missing OSV data of an ecosystem is not listed here: each of its
/// packages is reported unmatched with that reason.
///
/// An empty result means the data is current.
pub fn notices(
    sources: &[SourceState],
    ecosystems: impl IntoIterator<Item = Ecosystem>,
    max_age: u64,
    now: u64,
) -> Vec<String> {
    let mut needed: Vec<Feed> = ecosystems.into_iter().map(Feed::Osv).collect();
    needed.extend([Feed::Kev, Feed::Epss]);
    needed.sort();
    needed.dedup();
    let mut out = Vec::new();
    for feed in needed {
        let name = feed.name();
        let state = sources.iter().find(|s| s.name == name && s.entries > 0);
        match (feed, state) {
            (Feed::Osv(_), None) => {}
            (Feed::Kev, None) => out.push(format!("{name}: no data: risk scores lack known-exploited flags")),
            (Feed::Epss, None) => out.push(format!("{name}: no data: risk scores lack exploit probabilities")),
            (_, Some(state)) => match (state.age(now), state.as_of) {
                (Some(age), Some(as_of)) if age > max_age => out.push(format!(
                    "{name}: data is {} old (as of {}; the maximum age is {})",
                    format_age(age),
                    format_date(as_of),
                    format_age(max_age)
                )),
                (Some(_), _) => {}
                (None, _) => out.push(format!("{name}: data has no date: its age cannot be checked")),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn state(feed: Feed, as_of: Option<u64>, entries: usize) -> SourceState {
        SourceState {
            name: feed.name(),
            as_of,
            imported_at: 0,
            generation: 1,
            entries,
            origin: String::new(),
        }
    }

    #[test]
    fn names_round_trip() {
        for feed in Feed::all() {
            assert_eq!(Feed::parse(&feed.name()), Some(feed));
        }
        assert_eq!(Feed::parse("osv:Debian"), None);
        assert_eq!(Feed::parse("osv"), None);
    }

    #[test]
    fn current_data_gives_no_notice() {
        let now = 100 * DAY;
        let sources = [
            state(Feed::Osv(Ecosystem::CratesIo), Some(now - DAY), 10),
            state(Feed::Kev, Some(now - 2 * DAY), 5),
            state(Feed::Epss, Some(now - DAY), 5),
        ];
        assert!(notices(&sources, [Ecosystem::CratesIo], 5 * DAY, now).is_empty());
    }

    #[test]
    fn old_missing_and_undated_sources_are_each_named() {
        let now = 200 * DAY;
        let sources = [
            state(Feed::Osv(Ecosystem::CratesIo), Some(now - 105 * DAY), 10),
            state(Feed::Osv(Ecosystem::PyPI), None, 3),
            state(Feed::Kev, Some(now - DAY), 0),
        ];
        let lines = notices(
            &sources,
            [Ecosystem::CratesIo, Ecosystem::PyPI, Ecosystem::Npm],
            5 * DAY,
            now,
        );
        assert_eq!(
            lines,
            [
                "osv:crates.io: data is 105 days old (as of 1970-04-06; the maximum age is 5 days)",
                "osv:PyPI: data has no date: its age cannot be checked",
                // A KEV source with no entries is as good as missing.
                "kev: no data: risk scores lack known-exploited flags",
                "epss: no data: risk scores lack exploit probabilities",
            ]
        );
        // npm has no OSV data: its packages are unmatched, not a notice here.
        assert!(!lines.iter().any(|l| l.contains("npm")));
    }
}
