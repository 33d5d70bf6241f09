//! SARIF 2.1.0 (OASIS), for code-scanning views: one rule per advisory with
//! its help text and `security-severity`, one result per finding at the
//! lockfile line where the package's entry starts (the path relative to the
//! repository root, as code-scanning views resolve it), fingerprints that stay the
//! same from run to run, and suppressed findings as SARIF suppressions.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use super::{LineFinder, fingerprint, repository_prefix, severity_score};
use crate::scan::{Finding, Report};

/// Writes the report as one SARIF log.
pub(crate) fn write(out: &mut impl Write, report: &Report<'_>, root: &std::path::Path) -> std::io::Result<()> {
    let mut lines = LineFinder::new(root);
    let prefix = repository_prefix(root);
    let all: Vec<&Finding<'_>> = report.findings.iter().chain(&report.suppressed).collect();
    // One rule per advisory, in id order; results point at them by index.
    let mut rules: BTreeMap<&str, &Finding<'_>> = BTreeMap::new();
    for f in &all {
        rules.entry(f.vulnerability.id.as_str()).or_insert(f);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Value> = rules.values().map(|f| rule(f)).collect();
    let results: Vec<Value> = all
        .iter()
        .map(|f| {
            let v = &f.vulnerability;
            let line = lines.line(f.package.path, f.package.name, f.package.version);
            let mut result = json!({
                "ruleId": v.id,
                "ruleIndex": index.get(v.id.as_str()).copied().unwrap_or(0),
                "level": level(v.severity),
                "message": {"text": message(f)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": format!("{prefix}{}", f.package.path), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": line}
                    }
                }],
                "partialFingerprints": {
                    "zerotrace/v1": fingerprint(&[f.package.path, f.package.ecosystem, f.package.name, f.package.version, &v.id])
                },
                "properties": {
                    "ecosystem": f.package.ecosystem,
                    "package": f.package.name,
                    "version": f.package.version,
                    "scope": f.package.scope,
                    "direct": f.dependency.as_ref().map(|d| d.direct),
                    "dependencyPath": f.dependency.as_ref().map(|d| &d.path),
                    "fixedVersions": v.fixed_versions,
                    "knownExploited": v.is_kev(),
                    "riskScore": v.risk,
                    "inBaseline": f.baseline
                }
            });
            if let Some(s) = &f.suppression {
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": s.reason,
                    "location": {"physicalLocation": {"artifactLocation": {"uri": s.source}}},
                    "properties": {"until": s.until}
                }]);
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ZeroTrace",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/zerotrace/zerotrace",
                "rules": rules
            }},
            "results": results,
            "properties": {
                "advisoryGeneration": report.advisory_data.generation,
                "advisoryNotices": report.advisory_data.notices,
                "errors": report.errors.iter().map(|e| format!("{}: {}", e.path, e.message)).collect::<Vec<_>>(),
                "unmatched": report.unmatched.len()
            }
        }]
    });
    serde_json::to_writer(&mut *out, &log).map_err(std::io::Error::from)?;
    writeln!(out)
}

fn rule(f: &Finding<'_>) -> Value {
    let v = &f.vulnerability;
    let summary = v
        .summary
        .clone()
        .unwrap_or_else(|| format!("{} in {}", v.id, f.package.name));
    let fix = if v.fixed_versions.is_empty() {
        "No fixed version is known.".to_string()
    } else {
        format!("Upgrade to a fixed version: {}.", v.fixed_versions.join(", "))
    };
    let details = v.details.clone().unwrap_or_else(|| summary.clone());
    let url = v.advisory_url().map(str::to_string);
    let mut rule = json!({
        "id": v.id,
        "name": v.id.replace(['-', '.'], ""),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": details},
        "help": {
            "text": format!("{summary}\n\n{fix}\n\nAliases: {}", v.aliases.join(", ")),
            "markdown": format!("**{summary}**\n\n{fix}\n\nAliases: {}", v.aliases.join(", "))
        },
        "defaultConfiguration": {"level": level(v.severity)},
        "properties": {
            "tags": ["security", "vulnerability", f.package.ecosystem],
            "precision": "very-high"
        }
    });
    if let Some(score) = severity_score(v.max_score, v.severity) {
        rule["properties"]["security-severity"] = json!(format!("{score:.1}"));
    }
    if let Some(url) = url {
        rule["helpUri"] = json!(url);
    }
    rule
}

fn message(f: &Finding<'_>) -> String {
    let v = &f.vulnerability;
    let fixed = if v.fixed_versions.is_empty() {
        "no fixed version".to_string()
    } else {
        format!("fixed in {}", v.fixed_versions.join(", "))
    };
    let via = f
        .dependency
        .as_ref()
        .filter(|d| !d.direct)
        .map(|d| {
            format!(
                " ({})",
                if d.path.is_empty() {
                    "indirect".to_string()
                } else {
                    format!("via {}", d.line())
                }
            )
        })
        .unwrap_or_default();
    format!(
        "{} {}{via} is affected by {} ({} severity, {fixed}): {}",
        f.package.name,
        f.package.version,
        v.id,
        v.severity,
        v.summary.as_deref().unwrap_or("see the advisory")
    )
}

/// SARIF levels: critical and high are errors, medium a warning, the rest notes.
fn level(severity: zerotrace_advisory::Severity) -> &'static str {
    use zerotrace_advisory::Severity;
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        _ => "note",
    }
}
