//! A scan report, from what an agent sent to what the store writes:
//! validated, its findings keyed, deduplicated and encoded, and hashed so a
//! retry is recognised.

use crate::ApiError;
use crate::digest::digest_parts;
use crate::store::{NewFinding, NewReport};
use crate::time::micros;
use crate::validate::{
    FindingField, bound_package, bound_vulnerability, caps, check_id, check_text, cut, keep_within, known_or,
};
use prost::Message as _;
use std::collections::HashMap;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::common::v1 as common;

/// Returns the stable key of a finding: the first 128 bits of a hash of agent,
/// package, version, lockfile (root and path within it) and vulnerability.
/// Its lowercase hex is the finding id of the API.
pub(crate) fn finding_key(agent_id: &str, root: &str, package: &common::Package, vuln_id: &str) -> [u8; 16] {
    let digest = digest_parts(&[
        agent_id.as_bytes(),
        package.ecosystem.as_bytes(),
        package.name.as_bytes(),
        package.version.as_bytes(),
        root.as_bytes(),
        package.source_path.as_bytes(),
        vuln_id.as_bytes(),
    ]);
    let mut key = [0u8; 16];
    if let Some(head) = digest.get(..16) {
        key.copy_from_slice(head);
    }
    key
}

/// Validates a report of `agent_id` received at `now` (microseconds) and
/// turns it into what the store writes: finding ids, deduplicated findings,
/// encoded bytes and the content hash that makes retries idempotent. The
/// report is taken apart, not copied: a report carries up to
/// `max_findings` findings.
pub fn prepare_report(
    agent_id: &str,
    mut report: pb::ScanReport,
    max_findings: usize,
    now: i64,
) -> Result<NewReport, ApiError> {
    check_id("report.scan_id", &report.scan_id)?;
    if report.scan_type == common::ScanType::Unspecified as i32 {
        return Err(ApiError::invalid("report.scan_type is required (FULL or INCREMENTAL)"));
    }
    if report.status == common::ScanStatus::Unspecified as i32 {
        return Err(ApiError::invalid("report.status is required"));
    }
    check_text("report.root", &report.root)?;
    let started_at = match &report.started_at {
        Some(ts) => micros("report.started_at", ts)?,
        None => now,
    };
    if let Some(ts) = &report.finished_at {
        micros("report.finished_at", ts)?;
    }
    zerotrace_proto::reports::check_counts(&report, max_findings as u64)?;
    // The hash of the report as sent: a retry sends the same bytes.
    let content_hash = digest_parts(&[&report.encode_to_vec()]).to_vec();
    // Values of a newer contract than this API's are stored as unknown.
    report.scan_type = known_or(report.scan_type, common::ScanType::Unspecified);
    report.status = known_or(report.status, common::ScanStatus::Unspecified);
    let scan_type = common::ScanType::try_from(report.scan_type).unwrap_or_default();
    let status = common::ScanStatus::try_from(report.status).unwrap_or_default();
    let advisories = std::mem::take(&mut report.advisories);
    let reported = std::mem::take(&mut report.findings);
    let mut by_key: HashMap<[u8; 16], NewFinding> = HashMap::with_capacity(reported.len());
    for (i, finding) in reported.into_iter().enumerate() {
        let field = |name: &'static str| FindingField { index: i, name }.to_string();
        let mut package = finding
            .package
            .ok_or_else(|| ApiError::invalid(format!("{} is required", field("package"))))?;
        let mut vuln = vulnerability_of(finding.vulnerability, finding.advisory_ref, &advisories, &field)?;
        bound_package(&field, &mut package)?;
        bound_vulnerability(&field, &mut vuln)?;
        // The store sorts and filters by severity: unset and unknown are both `UNKNOWN`.
        vuln.severity = match common::Severity::try_from(vuln.severity) {
            Ok(common::Severity::Unspecified) | Err(_) => common::Severity::Unknown as i32,
            Ok(known) => known as i32,
        };
        let key = finding_key(agent_id, &report.root, &package, &vuln.id);
        let stored = common::Finding {
            package: Some(package),
            vulnerability: Some(vuln),
            ..Default::default()
        };
        let new = NewFinding {
            key,
            data: stored.encode_to_vec(),
            finding: stored,
        };
        // A finding listed twice in one report is one finding: the last listing wins.
        by_key.insert(key, new);
    }
    bound_report_lists(&mut report, &advisories)?;
    let mut findings: Vec<NewFinding> = by_key.into_values().collect();
    // One order for every writer keeps concurrent PostgreSQL transactions from deadlocking.
    findings.sort_unstable_by_key(|f| f.key);
    Ok(NewReport {
        agent_id: agent_id.to_string(),
        scan_id: report.scan_id.clone(),
        content_hash,
        status: status as i32,
        started_at,
        received_at: now,
        report: report.encode_to_vec(),
        root: report.root,
        findings,
        resolves: scan_type == common::ScanType::Full && status == common::ScanStatus::Succeeded,
        publish: true,
    })
}

/// The vulnerability a reported finding or warning names: embedded, or by
/// its position in the report's `advisories` (newer agents send each
/// advisory once). Neither, or a position past the list, is INVALID_ARGUMENT.
fn vulnerability_of(
    embedded: Option<common::Vulnerability>,
    advisory_ref: Option<u32>,
    advisories: &[common::Vulnerability],
    field: &dyn Fn(&'static str) -> String,
) -> Result<common::Vulnerability, ApiError> {
    match (embedded, advisory_ref) {
        (Some(vulnerability), None) => Ok(vulnerability),
        (None, Some(position)) => advisories.get(position as usize).cloned().ok_or_else(|| {
            ApiError::invalid(format!(
                "{} is {position}, but the report has {} advisories",
                field("advisory_ref"),
                advisories.len()
            ))
        }),
        (Some(_), Some(_)) => Err(ApiError::invalid(format!(
            "{} and {} are both set; send one",
            field("vulnerability"),
            field("advisory_ref")
        ))),
        (None, None) => Err(ApiError::invalid(format!("{} is required", field("vulnerability")))),
    }
}

/// Bounds what a report carries besides its findings (stored with the scan
/// and returned by GetScan; their count is checked with the findings'):
/// warnings, and capped lists of errors, unmatched packages and
/// advisory-data lines.
fn bound_report_lists(report: &mut pb::ScanReport, advisories: &[common::Vulnerability]) -> Result<(), ApiError> {
    for (i, warning) in report.warnings.iter_mut().enumerate() {
        let field = |name: &'static str| format!("report.warnings[{i}].{name}");
        if warning.advisory_ref.is_some() {
            let embedded = vulnerability_of(
                warning.vulnerability.take(),
                warning.advisory_ref.take(),
                advisories,
                &field,
            )?;
            warning.vulnerability = Some(embedded);
        }
        if let Some(package) = warning.package.as_mut() {
            bound_package(&field, package)?;
        }
        if let Some(vuln) = warning.vulnerability.as_mut() {
            bound_vulnerability(&field, vuln)?;
        }
    }
    let errors_sent = report.errors.len();
    report.errors.truncate(caps::ERRORS);
    for error in &mut report.errors {
        cut(&mut error.path, caps::MESSAGE);
        cut(&mut error.message, caps::MESSAGE);
    }
    let unmatched_sent = report.unmatched.len();
    report.unmatched.truncate(caps::UNMATCHED);
    for (i, unmatched) in report.unmatched.iter_mut().enumerate() {
        let field = |name: &'static str| format!("report.unmatched[{i}].{name}");
        if let Some(package) = unmatched.package.as_mut() {
            bound_package(&field, package)?;
        }
        cut(&mut unmatched.reason, caps::MESSAGE);
    }
    // Within the byte budget, errors come first, then warnings, then
    // unmatched packages; what does not fit is said in one error per list,
    // so a shortened report never reads as a complete one.
    let mut budget = caps::REPORT_LISTS_BYTES;
    let errors_dropped = errors_sent - report.errors.len() + keep_within(&mut report.errors, &mut budget);
    let warnings_sent = report.warnings.len();
    let warnings_dropped = keep_within(&mut report.warnings, &mut budget);
    let unmatched_dropped = unmatched_sent - report.unmatched.len() + keep_within(&mut report.unmatched, &mut budget);
    for (dropped, sent, what) in [
        (errors_dropped, errors_sent, "file errors"),
        (warnings_dropped, warnings_sent, "warnings"),
        (unmatched_dropped, unmatched_sent, "unmatched packages"),
    ] {
        if dropped > 0 {
            report.errors.push(common::ScanError {
                path: String::new(),
                message: format!(
                    "the API kept {} of the report's {sent} {what}; the rest exceeded its limits",
                    sent - dropped
                ),
            });
        }
    }
    if let Some(data) = report.advisory_data.as_mut() {
        data.sources.truncate(caps::DATA_LINES);
        for source in &mut data.sources {
            cut(&mut source.name, caps::ITEM);
        }
        data.notices.truncate(caps::DATA_LINES);
        for notice in &mut data.notices {
            cut(notice, caps::MESSAGE);
        }
    }
    cut(&mut report.error_message, caps::MESSAGE);
    Ok(())
}
