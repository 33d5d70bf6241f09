//! From a stored advisory and the exploitation feeds to the scored records
//! the database serves: one for the advisory as a whole, one per package it
//! affects.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use zerotrace_ecosystem::Ecosystem;

use crate::feeds::{Epss, KevEntry, is_cve};
use crate::model::{CvssScore, Informational, Reference, ScoredAdvisory};
use crate::osv::{Advisory, Affected, EventKind, SeverityEntry};
use crate::score::{Severity, risk_score, score_vector};

/// What scoring needs besides the advisory itself: its best EPSS and its
/// KEV entry, found through its id and aliases that are CVE ids.
#[derive(Debug, Default)]
pub(crate) struct Exploitation {
    pub(crate) epss: Option<Epss>,
    pub(crate) kev: Option<KevEntry>,
}

impl Exploitation {
    /// Looks the advisory's CVE ids up with `epss` and `kev`; the highest
    /// EPSS wins, and the first KEV entry found.
    pub(crate) fn of<E>(
        adv: &Advisory,
        mut epss: impl FnMut(&str) -> Result<Option<Epss>, E>,
        mut kev: impl FnMut(&str) -> Result<Option<KevEntry>, E>,
    ) -> Result<Self, E> {
        let mut out = Exploitation::default();
        for cve in cve_ids(adv) {
            if let Some(e) = epss(cve)?
                && out.epss.is_none_or(|best| e.score > best.score)
            {
                out.epss = Some(e);
            }
            if out.kev.is_none() {
                out.kev = kev(cve)?;
            }
        }
        Ok(out)
    }
}

/// The advisory's id and aliases that are CVE ids.
pub(crate) fn cve_ids(adv: &Advisory) -> impl Iterator<Item = &str> {
    std::iter::once(adv.id.as_str())
        .chain(adv.aliases.iter().map(String::as_str))
        .map(str::trim)
        .filter(|a| is_cve(a))
}

/// The affected entries of one package (and one informational kind) of an advisory.
#[derive(Debug)]
pub(crate) struct PackageGroup<'a> {
    pub(crate) ecosystem: Ecosystem,
    /// The name normalised as the ecosystem does, the index key.
    pub(crate) normalized: String,
    /// The RustSec informational kind, empty for a vulnerability.
    pub(crate) informational: Option<String>,
    pub(crate) entries: Vec<&'a Affected>,
}

/// Groups the affected entries of a standing advisory by package and
/// informational kind; entries of unknown ecosystems or without a package
/// are left out (nothing can match them).
pub(crate) fn package_groups(adv: &Advisory) -> Vec<PackageGroup<'_>> {
    let mut groups: BTreeMap<(Ecosystem, String, Option<String>), Vec<&Affected>> = BTreeMap::new();
    for a in &adv.affected {
        let (Some(eco_name), Some(name)) = (a.ecosystem.as_deref(), a.name.as_deref()) else {
            continue;
        };
        let Some(eco) = Ecosystem::from_osv(eco_name) else {
            continue;
        };
        groups
            .entry((eco, eco.normalize_name(name), a.informational.clone()))
            .or_default()
            .push(a);
    }
    groups
        .into_iter()
        .map(|((ecosystem, normalized, informational), entries)| PackageGroup {
            ecosystem,
            normalized,
            informational,
            entries,
        })
        .collect()
}

/// Returns the advisory scored as a whole (what a look-up by id returns).
pub(crate) fn score_whole(adv: &Advisory, exploitation: &Exploitation) -> ScoredAdvisory {
    let informational = adv
        .affected
        .iter()
        .find_map(|a| a.informational.as_deref())
        .map(Informational::parse);
    score(
        adv,
        None,
        &[],
        fixed_of(adv.affected.iter()),
        informational,
        exploitation,
    )
}

/// What scoring for one package changes of the whole advisory's record:
/// the package's severity entries join the advisory's, its fixed versions
/// replace all of them. Stored per package instead of a full copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PackageScore {
    ecosystem: Option<String>,
    package: Option<String>,
    severity: Severity,
    cvss: Vec<CvssScore>,
    max_score: Option<f64>,
    fixed_versions: Vec<String>,
    risk: f64,
    informational: Option<Informational>,
}

impl PackageScore {
    /// Returns the advisory as scored for one package.
    pub(crate) fn of(scored: ScoredAdvisory) -> Self {
        PackageScore {
            ecosystem: scored.ecosystem,
            package: scored.package,
            severity: scored.severity,
            cvss: scored.cvss,
            max_score: scored.max_score,
            fixed_versions: scored.fixed_versions,
            risk: scored.risk,
            informational: scored.informational,
        }
    }

    /// Returns the whole advisory's record as seen for this package.
    pub(crate) fn apply(self, mut whole: ScoredAdvisory) -> ScoredAdvisory {
        whole.ecosystem = self.ecosystem;
        whole.package = self.package;
        whole.severity = self.severity;
        whole.cvss = self.cvss;
        whole.max_score = self.max_score;
        whole.fixed_versions = self.fixed_versions;
        whole.risk = self.risk;
        whole.informational = self.informational;
        whole
    }
}

/// Returns the advisory scored for one package: its severity entries and
/// fixed versions join the advisory's.
pub(crate) fn score_package(adv: &Advisory, group: &PackageGroup<'_>, exploitation: &Exploitation) -> ScoredAdvisory {
    let display_name = group
        .entries
        .first()
        .and_then(|a| a.name.as_deref())
        .unwrap_or(group.normalized.as_str());
    score(
        adv,
        Some((group.ecosystem.osv_name(), display_name)),
        &group.entries,
        fixed_of(group.entries.iter().copied()),
        group.informational.as_deref().map(Informational::parse),
        exploitation,
    )
}

fn score(
    adv: &Advisory,
    package: Option<(&str, &str)>,
    extra: &[&Affected],
    fixed_versions: Vec<String>,
    informational: Option<Informational>,
    exploitation: &Exploitation,
) -> ScoredAdvisory {
    let cvss = cvss_scores(adv.severity.iter().chain(extra.iter().flat_map(|a| a.severity.iter())));
    let max_score = cvss.iter().filter_map(|c| c.score).reduce(f64::max);
    let severity = match max_score {
        Some(s) => Severity::from_score(s),
        None => adv
            .label
            .iter()
            .chain(extra.iter().filter_map(|a| a.label.as_ref()))
            .filter_map(|l| Severity::from_label(l))
            .max()
            .unwrap_or(Severity::Unknown),
    };
    let risk = risk_score(
        max_score,
        severity,
        exploitation.epss.map(|e| e.score),
        exploitation.kev.is_some(),
    );
    ScoredAdvisory {
        id: adv.id.clone(),
        aliases: adv.aliases.clone(),
        summary: adv.summary.clone(),
        details: adv.details.clone(),
        ecosystem: package.map(|(e, _)| e.to_string()),
        package: package.map(|(_, n)| n.to_string()),
        severity,
        cvss,
        max_score,
        epss: exploitation.epss,
        kev: exploitation.kev.clone(),
        fixed_versions,
        references: adv
            .references
            .iter()
            .map(|r| Reference {
                kind: r.kind.clone(),
                url: r.url.clone(),
            })
            .collect(),
        published: adv.published.clone(),
        modified: adv.modified.clone(),
        withdrawn: adv.withdrawn.clone(),
        risk,
        informational,
    }
}

/// Returns the CVSS entries of severity strings.
fn cvss_scores<'a>(entries: impl Iterator<Item = &'a SeverityEntry>) -> Vec<CvssScore> {
    entries
        .map(|s| {
            let (score, error) = match s.kind.as_str() {
                "CVSS_V3" | "CVSS_V4" => match score_vector(s.score.trim()) {
                    Ok(v) => (Some(v), None),
                    Err(e) => (None, Some(e.to_string())),
                },
                other => (None, Some(format!("severity type {other} is not scored"))),
            };
            CvssScore {
                kind: s.kind.clone(),
                vector: s.score.clone(),
                score,
                error,
            }
        })
        .collect()
}

/// Returns the `fixed` versions of the SEMVER/ECOSYSTEM ranges of entries,
/// in order, without duplicates.
fn fixed_of<'a>(entries: impl Iterator<Item = &'a Affected>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in entries {
        for r in a.ranges.iter().filter(|r| r.kind == "SEMVER" || r.kind == "ECOSYSTEM") {
            for e in r.events.iter().filter(|e| e.kind == EventKind::Fixed) {
                if !out.contains(&e.version) {
                    out.push(e.version.clone());
                }
            }
        }
    }
    out
}

/// Returns the id prefix that names the advisory's source (`RUSTSEC`, `PYSEC`, `GHSA`).
pub(crate) fn source_of(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

/// Returns the OSV ecosystems an advisory names, without a `:suffix`
/// (`Debian:12` counts as `Debian`), sorted and once each.
pub(crate) fn ecosystems_of(adv: &Advisory) -> Vec<&str> {
    let mut ecos: Vec<&str> = adv
        .affected
        .iter()
        .filter_map(|a| a.ecosystem.as_deref())
        .map(|e| e.split(':').next().unwrap_or(e))
        .collect();
    ecos.sort_unstable();
    ecos.dedup();
    ecos
}
