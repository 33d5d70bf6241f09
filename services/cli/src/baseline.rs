//! `--baseline previous.json`: a JSON report of an earlier `zerotrace scan`
//! whose findings are known. A finding in it (the same ecosystem, package,
//! version and advisory) is still reported, marked as in the baseline, and
//! does not count toward `--fail-on`: the gate fails only on what is new.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::error::CliError;

/// The largest baseline read.
const MAX_SIZE: u64 = 256 << 20;

/// The findings of a baseline, by (ecosystem, package, version, advisory).
#[derive(Debug, Default)]
pub(crate) struct Baseline(HashSet<(String, String, String, String)>);

#[derive(Deserialize)]
struct ReportDoc {
    findings: Vec<FindingDoc>,
    #[serde(default)]
    suppressed: Vec<FindingDoc>,
}

#[derive(Deserialize)]
struct FindingDoc {
    package: PackageDoc,
    vulnerability: VulnerabilityDoc,
}

#[derive(Deserialize)]
struct PackageDoc {
    ecosystem: String,
    name: String,
    version: String,
}

#[derive(Deserialize)]
struct VulnerabilityDoc {
    id: String,
}

impl Baseline {
    /// Reads a JSON report of `zerotrace scan --format json`; its findings
    /// and its suppressed ones are known.
    pub(crate) fn load(path: &Path) -> Result<Self, CliError> {
        let name = path.display();
        let (bytes, _) = zerotrace_files::read_limited(path, MAX_SIZE)
            .map_err(|e| CliError::Usage(format!("baseline {name}: {e}")))?;
        let doc: ReportDoc = serde_json::from_slice(&bytes).map_err(|e| {
            CliError::Usage(format!(
                "baseline {name}: not a JSON report of `zerotrace scan --format json` ({e})"
            ))
        })?;
        Ok(Self(
            doc.findings
                .into_iter()
                .chain(doc.suppressed)
                .map(|f| {
                    (
                        f.package.ecosystem,
                        f.package.name,
                        f.package.version,
                        f.vulnerability.id,
                    )
                })
                .collect(),
        ))
    }

    /// Whether a finding is in the baseline.
    pub(crate) fn contains(&self, ecosystem: &str, package: &str, version: &str, advisory: &str) -> bool {
        self.0.contains(&(
            ecosystem.to_string(),
            package.to_string(),
            version.to_string(),
            advisory.to_string(),
        ))
    }

    /// How many findings it holds.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}
