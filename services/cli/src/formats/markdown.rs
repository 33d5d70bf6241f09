//! Markdown for pull-request comments: a summary line, a table of the
//! findings that count, and each advisory's details collapsed.

use std::io::Write;

use crate::scan::{Finding, Report, package_cell};

/// Writes the report as Markdown.
pub(crate) fn write(out: &mut impl Write, report: &Report<'_>, failed: bool) -> std::io::Result<()> {
    let verdict = if failed { "❌ fails" } else { "✅ passes" };
    writeln!(out, "### ZeroTrace: {verdict} at `--fail-on {}`", report.fail_on)?;
    writeln!(out)?;
    let new = report.findings.iter().filter(|f| !f.baseline).count();
    writeln!(
        out,
        "{} vulnerabilities ({new} new, {} in the baseline), {} suppressed by ignores, in {} packages of {} lockfiles.",
        report.findings.len(),
        report.findings.len() - new,
        report.suppressed.len(),
        report.packages_scanned,
        report.lockfiles
    )?;
    if !report.findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "| Severity | Advisory | Package | Fixed in | Lockfile |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for f in &report.findings {
            let v = &f.vulnerability;
            let fixed = if v.fixed_versions.is_empty() {
                "no fix".to_string()
            } else {
                v.fixed_versions.join(", ")
            };
            let known = if f.baseline { " (baseline)" } else { "" };
            writeln!(
                out,
                "| {} | {}{known} | `{}` | {} | `{}` |",
                v.severity,
                cell(&v.id),
                cell(&package_cell(&f.package)),
                cell(&fixed),
                cell(f.package.path)
            )?;
        }
        writeln!(out)?;
        let mut seen = std::collections::BTreeSet::new();
        for f in &report.findings {
            if seen.insert(f.vulnerability.id.as_str()) {
                details(out, f)?;
            }
        }
    }
    if !report.suppressed.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "<details><summary>Suppressed by ignores ({})</summary>",
            report.suppressed.len()
        )?;
        writeln!(out)?;
        for f in &report.suppressed {
            if let Some(s) = &f.suppression {
                writeln!(
                    out,
                    "- {} in `{} {}`: {} ({})",
                    cell(&f.vulnerability.id),
                    cell(f.package.name),
                    cell(f.package.version),
                    cell(&s.reason),
                    cell(&s.source)
                )?;
            }
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
    }
    if !report.advisory_data.notices.is_empty() || !report.errors.is_empty() || !report.unmatched.is_empty() {
        writeln!(out)?;
        for notice in &report.advisory_data.notices {
            writeln!(out, "> ⚠️ advisory data: {}", cell(notice))?;
        }
        for e in report.errors {
            writeln!(out, "> ⚠️ {}: {}", cell(&e.path), cell(&e.message))?;
        }
        if !report.unmatched.is_empty() {
            writeln!(
                out,
                "> ⚠️ {} packages were not checked against advisories (see the JSON report).",
                report.unmatched.len()
            )?;
        }
    }
    Ok(())
}

fn details(out: &mut impl Write, f: &Finding<'_>) -> std::io::Result<()> {
    let v = &f.vulnerability;
    writeln!(
        out,
        "<details><summary>{}: {}</summary>",
        cell(&v.id),
        cell(v.summary.as_deref().unwrap_or(""))
    )?;
    writeln!(out)?;
    if !v.aliases.is_empty() {
        writeln!(out, "Aliases: {}", cell(&v.aliases.join(", ")))?;
        writeln!(out)?;
    }
    if let Some(details) = &v.details {
        for line in details.lines().take(20) {
            writeln!(out, "> {}", cell(line))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "</details>")
}

/// Text safe in a table cell or an HTML block: no pipes, no tags, one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}
