//! Checks of what clients send: ids, free text, page sizes, enum values and
//! the findings filter. Each check names the field in its error.

use crate::ApiError;
use crate::store::FindingSelector;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::common::v1 as common;

/// Default page size of every list call.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page size of every list call.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Most bytes of findings or scans in one page: a page ends early rather than
/// pass the 4 MiB a gRPC client accepts by default; its token continues it.
pub const MAX_PAGE_BYTES: usize = 3 * 1024 * 1024;
/// Longest accepted id (agent, scan), bytes.
const MAX_ID_LEN: usize = 256;
/// Longest accepted free text (host name, version, root, package fields), bytes.
const MAX_TEXT_LEN: usize = 4096;

/// The name of a field of a report's finding, written out only when an error
/// message needs it (a report carries up to thousands of findings).
pub(crate) struct FindingField {
    pub(crate) index: usize,
    pub(crate) name: &'static str,
}

impl std::fmt::Display for FindingField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "report.findings[{}].{}", self.index, self.name)
    }
}

/// Checks an id: present, at most 256 bytes, no control characters.
pub(crate) fn check_id(field: impl std::fmt::Display, value: &str) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid(format!("{field} is required")));
    }
    if value.len() > MAX_ID_LEN || value.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{field} must be at most {MAX_ID_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

/// Checks free text: at most 4096 bytes.
pub(crate) fn check_text(field: impl std::fmt::Display, value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_TEXT_LEN {
        return Err(ApiError::invalid(format!(
            "{field} must be at most {MAX_TEXT_LEN} bytes"
        )));
    }
    Ok(())
}

/// How much of a report's free text and lists the API keeps: an honest
/// agent stays well inside them (OSV summaries are a line, RustSec and GHSA
/// details a few KB); past them text is cut (marked `…`) and lists are
/// shortened, so a report stays bounded whatever an agent sends.
pub(crate) mod caps {
    /// Longest summary kept, bytes.
    pub(crate) const SUMMARY: usize = 1024;
    /// Longest details kept, bytes.
    pub(crate) const DETAILS: usize = 64 * 1024;
    /// Aliases, references, fixed versions and CVSS vectors kept per vulnerability.
    pub(crate) const LIST: usize = 64;
    /// Longest URL, CVSS vector, purl or short free-text item, bytes.
    pub(crate) const ITEM: usize = 2048;
    /// File errors kept per report.
    pub(crate) const ERRORS: usize = 10_000;
    /// Unmatched packages kept per report.
    pub(crate) const UNMATCHED: usize = 100_000;
    /// Advisory-data sources and notices kept per report.
    pub(crate) const DATA_LINES: usize = 64;
    /// Longest error message or notice kept, bytes.
    pub(crate) const MESSAGE: usize = 4096;
    /// Most bytes of a stored report's lists (errors, unmatched packages,
    /// warnings) together, so GetScan's answer fits a client's default 4 MiB.
    pub(crate) const REPORT_LISTS_BYTES: usize = 3 * 1024 * 1024;
}

/// Keeps the longest prefix of `list` that fits `budget` bytes (encoded),
/// takes what it kept from the budget, and returns how many it dropped.
pub(crate) fn keep_within<T: prost::Message>(list: &mut Vec<T>, budget: &mut usize) -> usize {
    let mut kept = 0;
    for item in list.iter() {
        // Tag and length prefix of a repeated field: at most 1 + 5 bytes.
        let size = item.encoded_len() + 6;
        if size > *budget {
            break;
        }
        *budget -= size;
        kept += 1;
    }
    let dropped = list.len() - kept;
    list.truncate(kept);
    dropped
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
pub(crate) fn cut(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
}

/// Checks a score: finite and within `range`.
pub(crate) fn check_score(
    field: impl std::fmt::Display,
    value: f64,
    range: std::ops::RangeInclusive<f64>,
) -> Result<(), ApiError> {
    if value.is_finite() && range.contains(&value) {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "{field} must be a number from {} to {}",
        range.start(),
        range.end()
    )))
}

/// Bounds a vulnerability an agent sent: ids are checked, scores must be in
/// range (CVSS 0–10, EPSS 0–1, risk 0–100), free text and lists are capped.
pub(crate) fn bound_vulnerability(
    field: &dyn Fn(&'static str) -> String,
    vuln: &mut common::Vulnerability,
) -> Result<(), ApiError> {
    check_id(field("vulnerability.id"), &vuln.id)?;
    check_score(field("vulnerability.cvss_score"), vuln.cvss_score, 0.0..=10.0)?;
    check_score(field("vulnerability.epss_score"), vuln.epss_score, 0.0..=1.0)?;
    check_score(field("vulnerability.epss_percentile"), vuln.epss_percentile, 0.0..=1.0)?;
    check_score(field("vulnerability.risk_score"), vuln.risk_score, 0.0..=100.0)?;
    vuln.aliases.truncate(caps::LIST);
    for alias in &vuln.aliases {
        check_id(field("vulnerability.aliases"), alias)?;
    }
    cut(&mut vuln.summary, caps::SUMMARY);
    cut(&mut vuln.details, caps::DETAILS);
    cut(&mut vuln.informational, caps::ITEM);
    vuln.cvss.truncate(caps::LIST);
    for cvss in &mut vuln.cvss {
        check_score(field("vulnerability.cvss.base_score"), cvss.base_score, 0.0..=10.0)?;
        cut(&mut cvss.r#type, caps::ITEM);
        cut(&mut cvss.vector, caps::ITEM);
    }
    vuln.references.truncate(caps::LIST);
    for reference in &mut vuln.references {
        cut(&mut reference.r#type, caps::ITEM);
        cut(&mut reference.url, caps::ITEM);
    }
    vuln.fixed_versions.truncate(caps::LIST);
    for version in &mut vuln.fixed_versions {
        cut(version, caps::ITEM);
    }
    Ok(())
}

/// Bounds a package an agent sent: ecosystem and name are ids, the rest capped text.
pub(crate) fn bound_package(
    field: &dyn Fn(&'static str) -> String,
    package: &mut common::Package,
) -> Result<(), ApiError> {
    check_id(field("package.ecosystem"), &package.ecosystem)?;
    check_id(field("package.name"), &package.name)?;
    check_text(field("package.version"), &package.version)?;
    check_text(field("package.source_path"), &package.source_path)?;
    cut(&mut package.purl, caps::ITEM);
    package.scope = known_or(package.scope, common::DependencyScope::Unspecified);
    package.source = known_or(package.source, common::PackageSource::Unspecified);
    Ok(())
}

/// Checks an optional id filter; empty means unset.
pub(crate) fn optional_id(field: &str, value: &str) -> Result<Option<String>, ApiError> {
    if value.is_empty() {
        return Ok(None);
    }
    check_id(field, value)?;
    Ok(Some(value.to_string()))
}

pub(crate) fn page_size(size: i32) -> Result<u32, ApiError> {
    match u32::try_from(size) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) if n <= MAX_PAGE_SIZE => Ok(n),
        _ => Err(ApiError::invalid(format!(
            "page_size must be between 0 (default {DEFAULT_PAGE_SIZE}) and {MAX_PAGE_SIZE}, got {size}"
        ))),
    }
}

pub(crate) fn enum_value<E: TryFrom<i32>>(field: impl std::fmt::Display, value: i32) -> Result<E, ApiError> {
    E::try_from(value).map_err(|_| ApiError::invalid(format!("{field} has unknown value {value}")))
}

/// Returns an enum value of an agent's report as stored: a value this API
/// does not know yet (sent by a newer agent) becomes `unknown` instead of
/// refusing the whole report.
pub(crate) fn known_or<E: TryFrom<i32> + Into<i32>>(value: i32, unknown: E) -> i32 {
    match E::try_from(value) {
        Ok(known) => known.into(),
        Err(_) => unknown.into(),
    }
}

/// Returns the validated filter of ListFindings and WatchFindings.
pub(crate) fn selector(filter: Option<&pb::FindingFilter>) -> Result<FindingSelector, ApiError> {
    let Some(filter) = filter else {
        return Ok(FindingSelector::default());
    };
    let min: common::Severity = enum_value("filter.min_severity", filter.min_severity)?;
    let text = |field: &str, value: &str| -> Result<Option<String>, ApiError> {
        check_text(field, value)?;
        Ok(Some(value.to_string()).filter(|v| !v.is_empty()))
    };
    Ok(FindingSelector {
        min_severity: (min != common::Severity::Unspecified).then_some(min as i32),
        ecosystem: text("filter.ecosystem", &filter.ecosystem)?,
        package_name: text("filter.package_name", &filter.package_name)?,
        vulnerability_id: optional_id("filter.vulnerability_id", &filter.vulnerability_id)?,
        agent_id: optional_id("filter.agent_id", &filter.agent_id)?,
        known_exploited_only: filter.known_exploited_only,
        fix_available_only: filter.fix_available_only,
        include_resolved: filter.include_resolved,
        include_decided: filter.include_decided,
    })
}

/// Checks a decision a client writes and returns what the service stores of
/// it: its kind, reason, analysis, expiry (to the microsecond the store
/// keeps), author and scope; the fields the service sets (name, times,
/// etag) are left empty.
pub(crate) fn decision(decision: Option<&pb::Decision>) -> Result<pb::Decision, ApiError> {
    let decision = decision.ok_or_else(|| ApiError::invalid("decision is required"))?;
    let kind: pb::DecisionKind = enum_value("decision.kind", decision.kind)?;
    if kind == pb::DecisionKind::Unspecified {
        return Err(ApiError::invalid(
            "decision.kind is required: accepted risk, false positive or not affected",
        ));
    }
    let required_text = |field: &str, value: &str| -> Result<String, ApiError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ApiError::invalid(format!("{field} is required")));
        }
        check_text(field, value)?;
        Ok(value.to_string())
    };
    let justification: pb::AnalysisJustification = enum_value("decision.justification", decision.justification)?;
    if justification != pb::AnalysisJustification::Unspecified && kind != pb::DecisionKind::NotAffected {
        return Err(ApiError::invalid(
            "decision.justification says why a finding is not affected: only with DECISION_KIND_NOT_AFFECTED",
        ));
    }
    let mut responses = Vec::with_capacity(decision.responses.len());
    for (i, &response) in decision.responses.iter().enumerate() {
        let field = format!("decision.responses[{i}]");
        let known: pb::AnalysisResponse = enum_value(&field, response)?;
        if known == pb::AnalysisResponse::Unspecified {
            return Err(ApiError::invalid(format!("{field} is unspecified")));
        }
        if !responses.contains(&response) {
            responses.push(response);
        }
    }
    let expire_time = match &decision.expire_time {
        Some(ts) => Some(crate::time::timestamp(crate::time::micros("decision.expire_time", ts)?)),
        None => None,
    };
    let scope = decision
        .scope
        .as_ref()
        .ok_or_else(|| ApiError::invalid("decision.scope is required: an advisory and a package"))?;
    check_id("decision.scope.advisory_id", &scope.advisory_id)?;
    check_id("decision.scope.ecosystem", &scope.ecosystem)?;
    check_id("decision.scope.package_name", &scope.package_name)?;
    check_text("decision.scope.version", &scope.version)?;
    optional_id("decision.scope.agent_id", &scope.agent_id)?;
    check_text("decision.scope.root", &scope.root)?;
    let author = required_text("decision.author", &decision.author)?;
    check_id("decision.author", &author)?;
    Ok(pb::Decision {
        kind: kind as i32,
        reason: required_text("decision.reason", &decision.reason)?,
        justification: justification as i32,
        responses,
        expire_time,
        author,
        scope: Some(scope.clone()),
        ..pb::Decision::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        let mut text = "é".repeat(10);
        cut(&mut text, 7);
        assert_eq!(text, "éé…");
        assert!(text.len() <= 7);
        let mut short = "ok".to_string();
        cut(&mut short, 7);
        assert_eq!(short, "ok");
    }

    #[test]
    fn scores_out_of_range_are_refused() {
        assert!(check_score("risk", 1e300, 0.0..=100.0).is_err());
        assert!(check_score("risk", f64::NAN, 0.0..=100.0).is_err());
        assert!(check_score("epss", -0.1, 0.0..=1.0).is_err());
        assert!(check_score("cvss", 9.8, 0.0..=10.0).is_ok());
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(1000).unwrap(), 1000);
        assert!(page_size(-1).is_err());
        assert!(page_size(1001).is_err());
        assert!(page_size(i32::MAX).is_err());
    }
}
