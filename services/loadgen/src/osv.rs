//! The ids and package versions named by OSV zips: what a benchmark asks
//! the advisory database about.

use crate::BoxError;
use crate::zipf::Rng;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::Path;

/// One package version named by an advisory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkloadPackage {
    /// OSV ecosystem (`crates.io`, `PyPI`, ...).
    pub ecosystem: String,
    /// Package name as the advisory spells it.
    pub name: String,
    /// A version: an explicit `versions` entry or a range bound.
    pub version: String,
}

/// What OSV zips name, deduplicated and in a seeded random order (so that
/// Zipf rank 0 is an arbitrary entry, not the alphabetically first).
#[derive(Debug, Clone, Default)]
pub struct OsvWorkload {
    /// Advisory ids and their aliases.
    pub ids: Vec<String>,
    /// Package versions: every explicit `versions` entry and every
    /// `introduced` (but `0`), `fixed` and `last_affected` bound of `SEMVER`
    /// and `ECOSYSTEM` ranges of advisories that are not withdrawn.
    pub packages: Vec<WorkloadPackage>,
}

impl OsvWorkload {
    /// Reads every `*.json` advisory of the zips at `paths`; shuffles with `seed`.
    pub fn from_zips<P: AsRef<Path>>(paths: &[P], seed: u64) -> Result<Self, BoxError> {
        let mut ids = BTreeSet::new();
        let mut packages = BTreeSet::new();
        for path in paths {
            let path = path.as_ref();
            let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
            for i in 0..archive.len() {
                let mut entry = archive.by_index(i)?;
                if !entry.name()?.ends_with(".json") {
                    continue;
                }
                let mut text = String::new();
                entry.read_to_string(&mut text)?;
                let advisory: Value = serde_json::from_str(&text)?;
                collect(&advisory, &mut ids, &mut packages);
            }
        }
        let mut rng = Rng::new(seed);
        let mut ids: Vec<String> = ids.into_iter().collect();
        let mut packages: Vec<WorkloadPackage> = packages.into_iter().collect();
        rng.shuffle(&mut ids);
        rng.shuffle(&mut packages);
        Ok(Self { ids, packages })
    }
}

fn collect(advisory: &Value, ids: &mut BTreeSet<String>, packages: &mut BTreeSet<WorkloadPackage>) {
    let text = |v: &Value| v.as_str().map(str::to_string);
    ids.extend(advisory.get("id").and_then(text));
    if let Some(aliases) = advisory.get("aliases").and_then(Value::as_array) {
        ids.extend(aliases.iter().filter_map(text));
    }
    if advisory.get("withdrawn").is_some_and(|w| !w.is_null()) {
        return;
    }
    for affected in advisory.get("affected").and_then(Value::as_array).into_iter().flatten() {
        let package = affected.get("package");
        let field = |key: &str| package.and_then(|p| p.get(key)).and_then(text);
        let (Some(ecosystem), Some(name)) = (field("ecosystem"), field("name")) else {
            continue;
        };
        let mut versions: Vec<String> = affected
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(text)
            .collect();
        for range in affected.get("ranges").and_then(Value::as_array).into_iter().flatten() {
            if !matches!(range.get("type").and_then(Value::as_str), Some("SEMVER" | "ECOSYSTEM")) {
                continue;
            }
            for event in range.get("events").and_then(Value::as_array).into_iter().flatten() {
                for key in ["introduced", "fixed", "last_affected"] {
                    versions.extend(event.get(key).and_then(text).filter(|v| v != "0"));
                }
            }
        }
        packages.extend(versions.into_iter().map(|version| WorkloadPackage {
            ecosystem: ecosystem.clone(),
            name: name.clone(),
            version,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_ids_aliases_and_range_bounds() {
        let advisory = serde_json::json!({
            "id": "RUSTSEC-1", "aliases": ["CVE-1"],
            "affected": [{
                "package": {"ecosystem": "crates.io", "name": "a"},
                "versions": ["0.1.0"],
                "ranges": [
                    {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]},
                    {"type": "GIT", "events": [{"introduced": "abc"}]}
                ]
            }]
        });
        let (mut ids, mut packages) = (BTreeSet::new(), BTreeSet::new());
        collect(&advisory, &mut ids, &mut packages);
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["CVE-1", "RUSTSEC-1"]);
        let versions: Vec<_> = packages.into_iter().map(|p| p.version).collect();
        assert_eq!(versions, ["0.1.0", "1.2.0"]);
    }
}
