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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(1000).unwrap(), 1000);
        assert!(page_size(-1).is_err());
        assert!(page_size(1001).is_err());
        assert!(page_size(i32::MAX).is_err());
    }
}
