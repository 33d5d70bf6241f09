//! What the simulated agents report, and what the API must hold afterwards.
//!
//! A [`Catalog`] of vulnerable package versions, shared by the fleet and
//! drawn by Zipf (a few vulnerable packages are everywhere, most are rare).
//! Each [`AgentModel`] has a size (100–3,000 packages) and a number of
//! findings it tends to (0–60); from one report to the next most findings
//! stay, a few go (the package was upgraded) and a few come (a new advisory,
//! a new dependency). A [`Ledger`] applies each acknowledged report the way
//! the API does, so the run knows which findings exist and which are open.

use crate::zipf::{Rng, Zipf};
use std::collections::BTreeSet;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::common::v1 as common;

/// Fewest packages an agent scans.
pub const MIN_PACKAGES: usize = 100;
/// Most packages an agent scans.
pub const MAX_PACKAGES: usize = 3_000;
/// Most findings one report carries.
pub const MAX_FINDINGS: usize = 60;
/// Chance that a finding is gone from one report to the next.
const GONE: f64 = 0.03;
/// Chance, per finding an agent tends to, that a new one appears in a report.
const COMING: f64 = 0.03;
/// Share of agents without any vulnerable package.
const CLEAN: f64 = 0.2;
/// Mean findings of an agent that has some (an exponential, cut at [`MAX_FINDINGS`]).
const MEAN_FINDINGS: f64 = 12.0;
/// Share of packages a scan cannot match (git sources, unpinned versions).
const UNMATCHED: f64 = 0.01;

/// Ecosystems of the catalog, with the lockfile each is read from.
const ECOSYSTEMS: [(&str, &str); 5] = [
    ("npm", "package-lock.json"),
    ("crates.io", "Cargo.lock"),
    ("PyPI", "poetry.lock"),
    ("Go", "go.sum"),
    ("Maven", "pom.xml"),
];

/// One vulnerable package version of the catalog, with its advisory.
#[derive(Debug, Clone)]
struct Entry {
    ecosystem: usize,
    name: String,
    version: String,
    vulnerability: common::Vulnerability,
}

/// The vulnerable package versions the fleet's findings are drawn from.
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: Vec<Entry>,
    zipf: Zipf,
}

impl Catalog {
    /// Returns a catalog of `size` (at least one) vulnerable package versions; the same seed builds the same one.
    pub fn new(size: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let severities = [
            common::Severity::Low,
            common::Severity::Medium,
            common::Severity::Medium,
            common::Severity::High,
            common::Severity::High,
            common::Severity::Critical,
        ];
        let entries = (0..size.max(1))
            .map(|j| {
                let severity = severities[rng.below(severities.len())];
                let cvss = match severity {
                    common::Severity::Low => 2.0 + rng.next_f64() * 1.9,
                    common::Severity::Medium => 4.0 + rng.next_f64() * 2.9,
                    common::Severity::High => 7.0 + rng.next_f64() * 1.9,
                    _ => 9.0 + rng.next_f64(),
                };
                let epss = rng.next_f64() * rng.next_f64();
                let known_exploited = rng.next_f64() < 0.02;
                let name = format!("package-{}", j % (size / 3).max(1));
                Entry {
                    ecosystem: j % ECOSYSTEMS.len(),
                    version: format!("{}.{}.{}", rng.below(5), rng.below(30), rng.below(20)),
                    vulnerability: common::Vulnerability {
                        id: format!("GHSA-sim{j:04}-flt"),
                        aliases: vec![format!("CVE-2026-{:05}", 10_000 + j)],
                        summary: format!("{name}: crafted input leads to resource exhaustion"),
                        details: "An attacker who controls the input can make the parser allocate without \
                                  bound or loop for a long time. Upgrade to a fixed version; no workaround \
                                  is known. "
                            .repeat(1 + rng.below(6)),
                        severity: severity as i32,
                        cvss_score: (cvss * 10.0).round() / 10.0,
                        epss_score: epss,
                        epss_percentile: epss.sqrt(),
                        known_exploited,
                        fixed_versions: vec![format!("{}.{}.0", 5 + rng.below(3), rng.below(30))],
                        references: vec![common::Reference {
                            r#type: "ADVISORY".to_string(),
                            url: format!("https://github.com/advisories/GHSA-sim{j:04}-flt"),
                        }],
                        risk_score: (cvss * 10.0 * (0.5 + epss)).min(100.0),
                        ..Default::default()
                    },
                    name,
                }
            })
            .collect::<Vec<_>>();
        let zipf = Zipf::new(entries.len(), 1.0);
        Self { entries, zipf }
    }

    fn draw(&self, rng: &mut Rng) -> u32 {
        u32::try_from(self.zipf.sample(rng)).unwrap_or(0)
    }
}

/// A finding as the generator knows it: a catalog entry in one of the agent's lockfiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FindingRef {
    /// Index in the catalog.
    pub entry: u32,
    /// Which lockfile of the agent.
    pub lockfile: u16,
}

/// One report an agent is about to send.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Unique per agent.
    pub scan_id: String,
    /// A full scan resolves what it no longer sees.
    pub full: bool,
    /// The findings, each once.
    pub findings: BTreeSet<FindingRef>,
    /// The report as sent (also on every retry: the API recognises a retry by its bytes).
    pub report: pb::ScanReport,
}

/// One simulated agent's inventory and how it drifts.
#[derive(Debug, Clone)]
pub struct AgentModel {
    rng: Rng,
    packages: usize,
    lockfiles: u16,
    target: usize,
    full_every: u64,
    full_offset: u64,
    current: BTreeSet<FindingRef>,
    reports: u64,
}

impl AgentModel {
    /// Returns agent `index` of a fleet seeded with `seed`; every `full_every`-th report (at
    /// an offset of its own) and its first are full scans.
    pub fn new(index: usize, seed: u64, full_every: u64) -> Self {
        let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        // Log-uniform between the bounds: many small services, a few monorepos.
        let spread = (MAX_PACKAGES as f64 / MIN_PACKAGES as f64).powf(rng.next_f64());
        let packages = ((MIN_PACKAGES as f64 * spread) as usize).clamp(MIN_PACKAGES, MAX_PACKAGES);
        let lockfiles = u16::try_from(1 + packages / 300).unwrap_or(u16::MAX);
        let target = if rng.next_f64() < CLEAN {
            0
        } else {
            ((-(1.0 - rng.next_f64()).ln() * MEAN_FINDINGS) as usize).clamp(1, MAX_FINDINGS)
        };
        let full_every = full_every.max(1);
        let full_offset = rng.below(full_every as usize) as u64;
        Self {
            rng,
            packages,
            lockfiles,
            target,
            full_every,
            full_offset,
            current: BTreeSet::new(),
            reports: 0,
        }
    }

    /// Returns the packages this agent scans.
    pub fn packages(&self) -> usize {
        self.packages
    }

    /// Returns the agent's next report: most of the last one's findings, a few gone, a few new.
    pub fn next_report(&mut self, catalog: &Catalog, root: &str) -> Draft {
        let first = self.reports == 0;
        if !first {
            let rng = &mut self.rng;
            self.current.retain(|_| rng.next_f64() >= GONE);
        }
        let coming = if first {
            self.target
        } else {
            // Refill half of what is missing, and now and then something new on top.
            let extra = (0..self.target).filter(|_| self.rng.next_f64() < COMING).count();
            self.target.saturating_sub(self.current.len()).div_ceil(2) + extra
        };
        let want = (self.current.len() + coming).min(MAX_FINDINGS);
        // A few more draws than needed: a draw may hit a finding the agent already has.
        for _ in 0..coming * 4 {
            if self.current.len() >= want {
                break;
            }
            self.current.insert(FindingRef {
                entry: catalog.draw(&mut self.rng),
                lockfile: u16::try_from(self.rng.below(usize::from(self.lockfiles))).unwrap_or(0),
            });
        }
        let full = first || (self.reports + self.full_offset).is_multiple_of(self.full_every);
        let scan_id = format!("sim-{:05}", self.reports);
        self.reports += 1;
        let report = self.encode(catalog, root, &scan_id, full);
        Draft {
            scan_id,
            full,
            findings: self.current.clone(),
            report,
        }
    }

    fn encode(&mut self, catalog: &Catalog, root: &str, scan_id: &str, full: bool) -> pb::ScanReport {
        let mut advisories = Vec::new();
        let mut refs = std::collections::HashMap::new();
        let mut findings = Vec::with_capacity(self.current.len());
        for finding in &self.current {
            let Some(entry) = catalog.entries.get(finding.entry as usize) else {
                continue;
            };
            // Each advisory once per report; the findings point at it.
            let advisory_ref = *refs.entry(finding.entry).or_insert_with(|| {
                advisories.push(entry.vulnerability.clone());
                u32::try_from(advisories.len() - 1).unwrap_or(u32::MAX)
            });
            findings.push(common::Finding {
                package: Some(package(entry, finding.lockfile)),
                advisory_ref: Some(advisory_ref),
                ..Default::default()
            });
        }
        let unmatched = (0..(self.packages as f64 * UNMATCHED) as usize)
            .map(|k| common::UnmatchedPackage {
                package: Some(common::Package {
                    ecosystem: "npm".to_string(),
                    name: format!("internal-tool-{k}"),
                    version: String::new(),
                    source_path: format!("app-0/{}", ECOSYSTEMS[0].1),
                    ..Default::default()
                }),
                reason: "not from the registry (git source)".to_string(),
            })
            .collect();
        let scan_type = if full {
            common::ScanType::Full
        } else {
            common::ScanType::Incremental
        };
        pb::ScanReport {
            scan_id: scan_id.to_string(),
            scan_type: scan_type as i32,
            status: common::ScanStatus::Succeeded as i32,
            root: root.to_string(),
            started_at: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
            finished_at: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
            packages_scanned: self.packages as u64,
            files_scanned: u64::from(self.lockfiles) + (self.packages / 40) as u64,
            findings,
            unmatched,
            advisories,
            ..Default::default()
        }
    }
}

fn package(entry: &Entry, lockfile: u16) -> common::Package {
    let (ecosystem, file) = ECOSYSTEMS[entry.ecosystem % ECOSYSTEMS.len()];
    common::Package {
        ecosystem: ecosystem.to_string(),
        name: entry.name.clone(),
        version: entry.version.clone(),
        purl: String::new(),
        source_path: format!("app-{lockfile}/{file}"),
        scope: common::DependencyScope::Runtime as i32,
        source: common::PackageSource::Registry as i32,
    }
}

/// Returns what identifies a finding in the API (its id hashes the same
/// fields, with the root, which is one per agent): agent, ecosystem, package,
/// version, lockfile and vulnerability, joined by `|`.
pub(crate) fn identity(agent_id: &str, finding: &common::Finding) -> String {
    let package = finding.package.clone().unwrap_or_default();
    let vulnerability = finding.vulnerability.as_ref().map_or("", |v| v.id.as_str());
    format!(
        "{agent_id}|{}|{}|{}|{}|{vulnerability}",
        package.ecosystem, package.name, package.version, package.source_path
    )
}

/// Returns the [`identity`] of a generated finding.
pub(crate) fn identity_of(catalog: &Catalog, agent_id: &str, finding: FindingRef) -> String {
    match catalog.entries.get(finding.entry as usize) {
        Some(entry) => identity(
            agent_id,
            &common::Finding {
                package: Some(package(entry, finding.lockfile)),
                vulnerability: Some(entry.vulnerability.clone()),
                ..Default::default()
            },
        ),
        None => String::new(),
    }
}

/// What the API holds for one agent once its acknowledged reports are
/// stored: every finding ever reported, those still open, and how many
/// times a report opened one (what WatchFindings sends).
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Every finding an acknowledged report carried.
    pub ever: BTreeSet<FindingRef>,
    /// Findings not resolved by a later full scan.
    pub open: BTreeSet<FindingRef>,
    /// Findings opened: new, or seen again after a full scan resolved them.
    pub opened: u64,
}

impl Ledger {
    /// Applies an acknowledged report.
    pub fn apply(&mut self, draft: &Draft) {
        for finding in &draft.findings {
            if self.open.insert(*finding) {
                self.opened += 1;
            }
            self.ever.insert(*finding);
        }
        if draft.full {
            self.open.retain(|f| draft.findings.contains(f));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_within_the_bounds() {
        let catalog = Catalog::new(2000, 1);
        for index in 0..300 {
            let mut agent = AgentModel::new(index, 9, 24);
            assert!((MIN_PACKAGES..=MAX_PACKAGES).contains(&agent.packages()));
            for _ in 0..30 {
                let draft = agent.next_report(&catalog, "/srv/app");
                assert!(draft.findings.len() <= MAX_FINDINGS, "{}", draft.findings.len());
                assert_eq!(draft.report.findings.len(), draft.findings.len());
            }
        }
    }

    #[test]
    fn most_findings_were_seen_before() {
        let catalog = Catalog::new(2000, 1);
        let (mut kept, mut total) = (0, 0);
        for index in 0..200 {
            let mut agent = AgentModel::new(index, 3, 24);
            let mut last = agent.next_report(&catalog, "/srv/app").findings;
            for _ in 0..10 {
                let next = agent.next_report(&catalog, "/srv/app").findings;
                kept += next.intersection(&last).count();
                total += next.len();
                last = next;
            }
        }
        let share = kept as f64 / total as f64;
        assert!((0.85..1.0).contains(&share), "{share}");
    }

    #[test]
    fn advisories_are_sent_once_and_referenced() {
        let catalog = Catalog::new(50, 1);
        let mut agent = (0..100)
            .map(|i| AgentModel::new(i, 5, 24))
            .find(|a| a.target > 20)
            .unwrap_or_else(|| AgentModel::new(0, 5, 24));
        let report = agent.next_report(&catalog, "/srv/app").report;
        let ids: BTreeSet<_> = report.advisories.iter().map(|a| a.id.clone()).collect();
        assert_eq!(ids.len(), report.advisories.len());
        assert!(report.findings.iter().all(|f| {
            f.vulnerability.is_none() && f.advisory_ref.is_some_and(|r| (r as usize) < report.advisories.len())
        }));
    }

    #[test]
    fn same_seed_same_reports() {
        let catalog = Catalog::new(500, 1);
        let (mut a, mut b) = (AgentModel::new(4, 2, 24), AgentModel::new(4, 2, 24));
        for _ in 0..5 {
            assert_eq!(
                a.next_report(&catalog, "/r").findings,
                b.next_report(&catalog, "/r").findings
            );
        }
    }

    #[test]
    fn a_full_scan_resolves_and_a_later_sighting_reopens() {
        let f = |entry| FindingRef { entry, lockfile: 0 };
        let draft = |full, findings: &[FindingRef]| Draft {
            scan_id: String::new(),
            full,
            findings: findings.iter().copied().collect(),
            report: pb::ScanReport::default(),
        };
        let mut ledger = Ledger::default();
        ledger.apply(&draft(true, &[f(1), f(2)]));
        ledger.apply(&draft(false, &[f(1)]));
        assert_eq!(ledger.open.len(), 2, "an incremental scan resolves nothing");
        ledger.apply(&draft(true, &[f(1)]));
        assert_eq!(ledger.open.len(), 1);
        ledger.apply(&draft(false, &[f(1), f(2)]));
        assert_eq!((ledger.open.len(), ledger.ever.len(), ledger.opened), (2, 2, 3));
    }
}
