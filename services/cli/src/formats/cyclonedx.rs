//! CycloneDX 1.6 JSON: every package found as a component with its purl, and
//! the findings as vulnerabilities with their ratings (CVSS vectors and
//! scores), references (aliases), recommendation and `affects`. A finding
//! an ignore suppressed carries a VEX analysis: the risk is accepted
//! (`exploitable`, response `will_not_fix`) with the ignore's reason.
//! Where a lockfile records which package depends on which, the BOM has that
//! `dependencies` graph, and each component whose lockfile says so whether
//! the project depends on it directly (`zerotrace:direct`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde_json::{Value, json};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::{Inventory, Scope};

use super::purl;
use crate::scan::{Finding, Report};

/// Writes the report as one CycloneDX BOM.
pub(crate) fn write(
    out: &mut impl Write,
    report: &Report<'_>,
    inventory: &Inventory,
    root: &std::path::Path,
) -> std::io::Result<()> {
    let packages = &inventory.packages;
    let root_name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| root.display().to_string());
    let mut refs: BTreeSet<String> = BTreeSet::new();
    let mut components = Vec::new();
    for p in packages {
        let reference = component_ref(p.ecosystem, &p.name, &p.version);
        if !refs.insert(reference.clone()) {
            continue;
        }
        let mut component = json!({
            "type": "library",
            "bom-ref": reference,
            "name": p.name,
            "purl": purl(p.ecosystem, &p.name, &p.version),
            "properties": [
                {"name": "zerotrace:ecosystem", "value": p.ecosystem.osv_name()},
                {"name": "zerotrace:lockfile", "value": p.path},
                {"name": "zerotrace:scope", "value": format!("{:?}", p.scope).to_lowercase()},
                {"name": "zerotrace:source", "value": format!("{:?}", p.source).to_lowercase()}
            ]
        });
        if !p.version.is_empty() {
            component["version"] = json!(p.version);
        }
        if let Some(direct) = p.direct
            && let Some(properties) = component["properties"].as_array_mut()
        {
            properties.push(json!({"name": "zerotrace:direct", "value": direct.to_string()}));
        }
        // Development dependencies are not part of what runs: CycloneDX's `excluded`.
        component["scope"] = json!(match p.scope {
            Scope::Development => "excluded",
            Scope::Optional => "optional",
            _ => "required",
        });
        components.push(component);
    }

    // One vulnerability per advisory, and one more for its findings each
    // ignore suppressed: an analysis belongs to the whole entry.
    let mut grouped: BTreeMap<(String, Option<String>), Vec<&Finding<'_>>> = BTreeMap::new();
    for f in report.findings.iter().chain(&report.suppressed) {
        grouped
            .entry((
                f.vulnerability.id.clone(),
                f.suppression.as_ref().map(|s| s.source.clone()),
            ))
            .or_default()
            .push(f);
    }
    let mut ignores_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, ignore) in grouped.keys() {
        if ignore.is_some() {
            *ignores_of.entry(id.as_str()).or_default() += 1;
        }
    }
    let mut nth: BTreeMap<&str, usize> = BTreeMap::new();
    let vulnerabilities: Vec<Value> = grouped
        .iter()
        .map(|((id, ignore), findings)| {
            // `vulnerability:ID:suppressed`, numbered when several ignores suppress ID.
            let reference = match ignore {
                None => format!("vulnerability:{id}"),
                Some(_) => {
                    let n = nth.entry(id.as_str()).or_default();
                    *n += 1;
                    if ignores_of.get(id.as_str()).copied().unwrap_or(0) > 1 {
                        format!("vulnerability:{id}:suppressed:{n}")
                    } else {
                        format!("vulnerability:{id}:suppressed")
                    }
                }
            };
            vulnerability(id, reference, findings)
        })
        .collect();

    let dependencies = dependency_graph(inventory, &refs);
    let bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "version": 1,
        "metadata": {
            "timestamp": zerotrace_advisory::time::format_rfc3339(zerotrace_advisory::time::now_unix()),
            "tools": {"components": [{"type": "application", "name": "ZeroTrace", "version": env!("CARGO_PKG_VERSION")}]},
            "component": {"type": "application", "bom-ref": "scan-root", "name": root_name}
        },
        "components": components,
        "dependencies": dependencies,
        "vulnerabilities": vulnerabilities
    });
    serde_json::to_writer(&mut *out, &bom).map_err(std::io::Error::from)?;
    writeln!(out)
}

/// The `dependencies` of the BOM: each component the lockfiles' graphs give
/// dependencies, with them (only components of the BOM, by `bom-ref`).
fn dependency_graph(inventory: &Inventory, refs: &BTreeSet<String>) -> Vec<Value> {
    let mut depends: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // A lockfile's packages are all of one ecosystem.
    let mut ecosystems: BTreeMap<&str, Ecosystem> = BTreeMap::new();
    for p in &inventory.packages {
        ecosystems.entry(p.path.as_str()).or_insert(p.ecosystem);
    }
    for (path, graph) in &inventory.graphs {
        let Some(&ecosystem) = ecosystems.get(path.as_str()) else {
            continue;
        };
        let reference = |i: usize| {
            let (name, version) = graph.nodes.get(i)?;
            let r = component_ref(ecosystem, name, version);
            refs.contains(&r).then_some(r)
        };
        for &(from, to) in &graph.edges {
            if let (Some(from), Some(to)) = (reference(from), reference(to)) {
                depends.entry(from).or_default().insert(to);
            }
        }
    }
    depends
        .into_iter()
        .map(|(r, on)| json!({"ref": r, "dependsOn": on.into_iter().collect::<Vec<_>>()}))
        .collect()
}

/// The `bom-ref` of a package: its purl, unique per ecosystem, name and version.
fn component_ref(ecosystem: Ecosystem, name: &str, version: &str) -> String {
    purl(ecosystem, name, version)
}

fn vulnerability(id: &str, reference: String, findings: &[&Finding<'_>]) -> Value {
    let Some(first) = findings.first() else {
        return json!({});
    };
    let v = &first.vulnerability;
    let mut ratings: Vec<Value> = v
        .cvss
        .iter()
        .filter_map(|c| {
            let score = c.score?;
            let method = if c.vector.starts_with("CVSS:4") {
                "CVSSv4"
            } else if c.vector.starts_with("CVSS:3.1") {
                "CVSSv31"
            } else if c.vector.starts_with("CVSS:3") {
                "CVSSv3"
            } else {
                "other"
            };
            Some(json!({"score": score, "severity": band(score), "method": method, "vector": c.vector}))
        })
        .collect();
    if ratings.is_empty() {
        ratings.push(json!({"severity": v.severity.to_string(), "method": "other"}));
    }
    let affects: BTreeSet<String> = findings
        .iter()
        .filter_map(|f| {
            let ecosystem = Ecosystem::from_osv(f.package.ecosystem)?;
            Some(component_ref(ecosystem, f.package.name, f.package.version))
        })
        .collect();
    let url = v.advisory_url().map(str::to_string);
    let mut entry = json!({
        "bom-ref": reference,
        "id": id,
        "source": {"name": "OSV", "url": format!("https://osv.dev/vulnerability/{id}")},
        "references": v.aliases.iter().map(|a| json!({"id": a, "source": {"name": alias_source(a)}})).collect::<Vec<_>>(),
        "ratings": ratings,
        "description": v.summary.clone().unwrap_or_default(),
        "affects": affects.iter().map(|r| json!({"ref": r})).collect::<Vec<_>>(),
        "properties": [
            {"name": "zerotrace:risk", "value": format!("{:.1}", v.risk)},
            {"name": "zerotrace:known-exploited", "value": v.is_kev().to_string()}
        ]
    });
    if let Some(details) = &v.details {
        entry["detail"] = json!(details);
    }
    if !v.fixed_versions.is_empty() {
        entry["recommendation"] = json!(format!("Upgrade to a fixed version: {}", v.fixed_versions.join(", ")));
    }
    if let Some(published) = &v.published {
        entry["published"] = json!(published);
    }
    if let Some(url) = url {
        entry["advisories"] = json!([{"url": url}]);
    }
    if let Some(s) = first.suppression.as_ref() {
        let until = s.until.as_ref().map(|u| format!(" (until {u})")).unwrap_or_default();
        let mut analysis = json!(s.analysis.cyclonedx());
        analysis["detail"] = json!(format!(
            "{}, ignored by {}{until}: {}",
            capitalized(&s.analysis.kind_words()),
            s.source,
            s.reason
        ));
        entry["analysis"] = analysis;
    }
    entry
}

/// `text` with its first letter in capitals.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The CycloneDX severity of a CVSS score.
fn band(score: f64) -> &'static str {
    match score {
        s if s >= 9.0 => "critical",
        s if s >= 7.0 => "high",
        s if s >= 4.0 => "medium",
        s if s > 0.0 => "low",
        _ => "none",
    }
}

/// Who publishes an alias, by its prefix.
fn alias_source(alias: &str) -> &'static str {
    match alias.split('-').next().unwrap_or_default() {
        "CVE" => "NVD",
        "GHSA" => "GitHub",
        "RUSTSEC" => "RustSec",
        "PYSEC" => "PyPA",
        _ => "OSV",
    }
}
