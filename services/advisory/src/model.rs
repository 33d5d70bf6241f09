//! The public result types: scored advisories, match results, import
//! reports and database info.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use zerotrace_ecosystem::{Ecosystem, Source};

use crate::feeds::{Epss, KevEntry};
use crate::freshness::{Feed, SourceState};
use crate::score::Severity;

/// One `severity[]` entry of an advisory, with its score when computable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// The OSV severity type (`CVSS_V3`, `CVSS_V4`, `CVSS_V2`, ...).
    pub kind: String,
    /// The vector (or other score string) as published.
    pub vector: String,
    /// The score, for v3.0, v3.1 and v4.0 vectors that pass the strict check.
    pub score: Option<f64>,
    /// Why no score was computed, if none was.
    pub error: Option<String>,
}

/// A reference link of an advisory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// The OSV reference type (`ADVISORY`, `WEB`, `FIX`, `PACKAGE`, ...).
    pub kind: String,
    /// The URL.
    pub url: String,
}

/// The kind of a RustSec informational advisory (a warning, not a
/// vulnerability, as cargo-audit reports it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Informational {
    /// The crate is no longer maintained.
    Unmaintained,
    /// The crate has unsound APIs.
    Unsound,
    /// An informational notice.
    Notice,
    /// Any other informational kind, as written.
    Other(String),
}

impl Informational {
    /// Returns the kind of a `database_specific.informational` value.
    pub fn parse(s: &str) -> Self {
        match s {
            "unmaintained" => Informational::Unmaintained,
            "unsound" => Informational::Unsound,
            "notice" => Informational::Notice,
            other => Informational::Other(other.to_string()),
        }
    }

    /// Returns the kind as written in advisories.
    pub fn as_str(&self) -> &str {
        match self {
            Informational::Unmaintained => "unmaintained",
            Informational::Unsound => "unsound",
            Informational::Notice => "notice",
            Informational::Other(s) => s,
        }
    }
}

impl fmt::Display for Informational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An advisory with its scores and exploitation data, as seen for one
/// package (from [`Database::match_package`](crate::Database::match_package))
/// or as a whole (from [`Database::get`](crate::Database::get)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredAdvisory {
    /// The advisory id (`RUSTSEC-2024-0001`, `PYSEC-2021-1`, `GHSA-…`).
    pub id: String,
    /// Other ids of the same vulnerability (CVE, GHSA, ...).
    pub aliases: Vec<String>,
    /// The one-line summary, if any.
    pub summary: Option<String>,
    /// The details (Markdown), if any.
    pub details: Option<String>,
    /// The OSV ecosystem of the matched package (`None` from `get`).
    pub ecosystem: Option<String>,
    /// The matched package name as the advisory writes it (`None` from `get`).
    pub package: Option<String>,
    /// The severity band: of the highest CVSS score, else of the
    /// qualitative label (`database_specific.severity`), else unknown.
    pub severity: Severity,
    /// Every `severity[]` entry (advisory-level, then the package's).
    pub cvss: Vec<CvssScore>,
    /// The highest computed CVSS score.
    pub max_score: Option<f64>,
    /// The highest EPSS among the advisory's CVE ids.
    pub epss: Option<Epss>,
    /// The CISA KEV entry of one of its CVE ids, if listed.
    pub kev: Option<KevEntry>,
    /// The `fixed` versions of the ranges of this package (of all packages
    /// from `get`), in advisory order, without duplicates.
    pub fixed_versions: Vec<String>,
    /// Reference links.
    pub references: Vec<Reference>,
    /// `published`, RFC 3339 as written.
    pub published: Option<String>,
    /// `modified`, RFC 3339 as written.
    pub modified: String,
    /// `withdrawn`, RFC 3339 as written; withdrawn advisories never match.
    pub withdrawn: Option<String>,
    /// The risk score, 0..=100 (see [`risk_score`](crate::risk_score)).
    pub risk: f64,
    /// Set for informational advisories (warnings).
    pub informational: Option<Informational>,
}

impl ScoredAdvisory {
    /// Returns whether a CVE of the advisory is in CISA KEV.
    pub fn is_kev(&self) -> bool {
        self.kev.is_some()
    }

    /// Returns the page that describes the advisory: its `ADVISORY`
    /// reference, else its first reference.
    pub fn advisory_url(&self) -> Option<&str> {
        self.references
            .iter()
            .find(|r| r.kind == "ADVISORY")
            .or_else(|| self.references.first())
            .map(|r| r.url.as_str())
    }
}

/// A package to match, as the matching rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackageQuery<'a> {
    /// The OSV ecosystem name (`crates.io`, `PyPI`, ...).
    pub ecosystem: &'a str,
    /// The package name as the lockfile writes it (normalised for matching).
    pub name: &'a str,
    /// The exact version; empty when the lockfile does not pin one.
    pub version: &'a str,
    /// Where the package comes from.
    pub source: Source,
}

impl<'a> PackageQuery<'a> {
    /// Returns a query for a registry package.
    pub fn registry(ecosystem: &'a str, name: &'a str, version: &'a str) -> Self {
        PackageQuery {
            ecosystem,
            name,
            version,
            source: Source::Registry,
        }
    }

    /// The matching rule: a registry package of a known ecosystem with a
    /// pinned version is matched against the advisories (as cargo-audit
    /// does: path, git and workspace packages never are). Returns its
    /// ecosystem when it is matched, or why it is not.
    pub fn matchable(&self) -> Result<Ecosystem, String> {
        if self.source != Source::Registry {
            return Err(format!(
                "{} packages are not matched against registry advisories",
                self.source.as_str()
            ));
        }
        if self.version.trim().is_empty() {
            return Err("no exact version (unpinned requirement)".to_string());
        }
        Ecosystem::from_osv(self.ecosystem.trim()).ok_or_else(|| format!("unknown ecosystem {:?}", self.ecosystem))
    }
}

/// What matching says about one package: the advisories that affect its
/// version, and why it was not (fully) matched, if it was not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// Vulnerabilities, highest risk first.
    pub vulnerabilities: Vec<std::sync::Arc<ScoredAdvisory>>,
    /// Informational advisories (unmaintained, unsound, notice), highest risk first.
    pub warnings: Vec<std::sync::Arc<ScoredAdvisory>>,
    /// Why the package was not (fully) matched: not from the registry, no
    /// pinned version, an unknown ecosystem, or a version that does not
    /// parse (then only verbatim `versions` entries were checked). `None`
    /// when matching ran normally. A version is only parsed when the
    /// package has advisories, so an unparsable version of a package no
    /// advisory names gives an empty, reason-less verdict.
    pub unmatched_reason: Option<String>,
}

/// What an imported path turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportKind {
    /// An osv.dev-style zip of OSV JSON files.
    OsvZip,
    /// A directory of OSV JSON files (searched recursively).
    OsvDir,
    /// A single OSV JSON file.
    OsvFile,
    /// A CISA KEV JSON catalog (replaces the previous one).
    Kev,
    /// A FIRST EPSS CSV, optionally gzipped (replaces the previous one).
    Epss,
}

/// What an import knows of its input beyond the bytes, and how strict it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Refuse the whole input, storing nothing, when any part of it is
    /// damaged or nothing in it is valid (for downloads: a truncated or
    /// garbage file must not replace good data). Without it, damaged
    /// entries are reported and skipped.
    pub strict: bool,
    /// The source the input is (the ecosystem of an osv.dev zip); it is
    /// recorded as imported even when it holds no advisory.
    pub feed: Option<Feed>,
    /// When the data of `feed` was current (a download's `Last-Modified`),
    /// Unix seconds; by default the newest time in the data.
    pub as_of: Option<u64>,
    /// Where the input came from (a URL); by default its path.
    pub origin: Option<String>,
}

impl ImportKind {
    /// Whether input of this kind holds data of `feed`.
    pub fn carries(self, feed: Feed) -> bool {
        match feed {
            Feed::Osv(_) => matches!(self, ImportKind::OsvZip | ImportKind::OsvDir | ImportKind::OsvFile),
            Feed::Kev => self == ImportKind::Kev,
            Feed::Epss => self == ImportKind::Epss,
        }
    }

    /// What the kind is, for people.
    pub fn describe(self) -> &'static str {
        match self {
            ImportKind::OsvZip => "OSV zip",
            ImportKind::OsvDir => "OSV directory",
            ImportKind::OsvFile => "OSV file",
            ImportKind::Kev => "KEV catalog",
            ImportKind::Epss => "EPSS scores",
        }
    }
}

/// A file (or zip entry, or feed line) that was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidFile {
    /// The file path, `zip!entry`, or `path:line N` for feeds.
    pub file: String,
    /// Why it was rejected.
    pub reason: String,
}

/// The outcome of one import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// The imported path.
    pub path: PathBuf,
    /// What the path was.
    pub kind: ImportKind,
    /// New advisories (or, for KEV/EPSS, entries loaded).
    pub imported: usize,
    /// Advisories replaced by a newer `modified`.
    pub updated: usize,
    /// Advisories already stored with the same `modified`.
    pub unchanged: usize,
    /// Advisories older than the stored copy, or duplicates within the import.
    pub skipped: usize,
    /// Rejected files with reasons (they are skipped, the import goes on).
    pub invalid: Vec<InvalidFile>,
    /// The database generation after this import.
    pub generation: u64,
}

/// Counts of advisories in one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// All advisories, withdrawn included.
    pub advisories: usize,
    /// Withdrawn advisories.
    pub withdrawn: usize,
}

/// A summary of the database contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInfo {
    /// All advisories, withdrawn included.
    pub advisories: usize,
    /// Withdrawn advisories.
    pub withdrawn: usize,
    /// Per OSV ecosystem of `affected[].package` (an advisory counts once
    /// in each ecosystem it names).
    pub by_ecosystem: BTreeMap<String, Counts>,
    /// Per source, the id prefix before the first `-` (`RUSTSEC`, `PYSEC`, `GHSA`).
    pub by_source: BTreeMap<String, Counts>,
    /// Indexed (ecosystem, package) pairs.
    pub packages: usize,
    /// Range bounds skipped because they did not parse.
    pub skipped_bounds: usize,
    /// CISA KEV entries.
    pub kev_entries: usize,
    /// The KEV `catalogVersion`.
    pub kev_catalog_version: Option<String>,
    /// EPSS entries.
    pub epss_entries: usize,
    /// The EPSS `model_version`.
    pub epss_model_version: Option<String>,
    /// The EPSS `score_date`.
    pub epss_score_date: Option<String>,
    /// The last import, Unix seconds.
    pub last_import: Option<u64>,
    /// The generation counter (see [`Database::generation`](crate::Database::generation)).
    pub generation: u64,
    /// Whether the database is persisted on disk.
    pub persistent: bool,
    /// Each source of data: how current it is and where it came from
    /// (read from its own table, so not part of the stored summary).
    #[serde(default, skip_serializing)]
    pub sources: Vec<SourceState>,
}
