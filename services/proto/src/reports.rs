//! What one scan report may carry: the rule the API enforces when a report
//! arrives and the agent checks before it sends one, so that a report over a
//! limit is refused for the same reason on either side and never cut.

use crate::api::v1 as api;
use prost::Message as _;

/// A report over one of the [`api::ReportLimits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverLimit {
    /// The reason code of the refusal (`TOO_MANY_FINDINGS`, `MESSAGE_TOO_LARGE`).
    pub reason: &'static str,
    /// What is over which limit, in one sentence.
    pub message: String,
    /// The limit.
    pub limit: u64,
}

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Checks what `report` carries against `max_findings`: at most that many
/// findings and warnings, and twice that many advisories (each finding's,
/// carried once per package name).
pub fn check_counts(report: &api::ScanReport, max_findings: u64) -> Result<(), OverLimit> {
    let max_advisories = max_findings.saturating_mul(2);
    for (count, what, limit, of) in [
        (report.findings.len(), "findings", max_findings, "the limit is"),
        (report.warnings.len(), "warnings", max_findings, "the limit is"),
        (
            report.advisories.len(),
            "advisories",
            max_advisories,
            "the limit is twice the findings' limit,",
        ),
    ] {
        if count as u64 > limit {
            return Err(OverLimit {
                reason: "TOO_MANY_FINDINGS",
                message: format!("report has {count} {what}; {of} {limit} per report (--max-findings-per-report)"),
                limit,
            });
        }
    }
    Ok(())
}

/// The bytes a gRPC message takes on the wire beyond its encoding (the
/// frame's compression flag and length), which the API counts too.
const FRAME_HEADER: u64 = 5;

/// Checks a request against the limits an API told: the counts of its
/// report ([`check_counts`]) and its size as sent.
pub fn check(request: &api::SubmitScanReportRequest, limits: &api::ReportLimits) -> Result<(), OverLimit> {
    if let Some(report) = &request.report {
        check_counts(report, limits.max_findings)?;
    }
    let size = request.encoded_len() as u64 + FRAME_HEADER;
    if size > limits.max_message_bytes {
        return Err(OverLimit {
            reason: "MESSAGE_TOO_LARGE",
            message: format!(
                "report is {size} bytes as sent; the limit is {} per request (--max-message-size)",
                limits.max_message_bytes
            ),
            limit: limits.max_message_bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::v1 as common;

    fn report(findings: usize, warnings: usize, advisories: usize) -> api::ScanReport {
        api::ScanReport {
            scan_id: "s".into(),
            findings: vec![common::Finding::default(); findings],
            warnings: vec![common::Finding::default(); warnings],
            advisories: vec![common::Vulnerability::default(); advisories],
            ..Default::default()
        }
    }

    #[test]
    fn counts_are_checked_against_the_findings_limit() {
        assert_eq!(check_counts(&report(3, 3, 6), 3), Ok(()));
        let over = check_counts(&report(4, 0, 0), 3).unwrap_err();
        assert_eq!((over.reason, over.limit), ("TOO_MANY_FINDINGS", 3));
        assert!(over.message.starts_with("report has 4 findings"), "{over}");
        assert!(
            check_counts(&report(0, 4, 0), 3)
                .unwrap_err()
                .message
                .contains("4 warnings")
        );
        let over = check_counts(&report(0, 0, 7), 3).unwrap_err();
        assert_eq!(over.limit, 6, "{over}");
        // A limit of zero refuses any finding.
        assert!(check_counts(&report(1, 0, 0), 0).is_err());
        assert_eq!(check_counts(&report(0, 0, 0), 0), Ok(()));
    }

    #[test]
    fn the_whole_request_is_measured_encoded() {
        let request = api::SubmitScanReportRequest {
            agent_id: "a".into(),
            report: Some(report(2, 0, 1)),
        };
        let size = request.encoded_len() as u64 + 5;
        let limits = |max_message_bytes| api::ReportLimits {
            max_message_bytes,
            max_findings: 10,
        };
        assert_eq!(check(&request, &limits(size)), Ok(()));
        let over = check(&request, &limits(size - 1)).unwrap_err();
        assert_eq!((over.reason, over.limit), ("MESSAGE_TOO_LARGE", size - 1));
        assert!(over.message.contains(&format!("{size} bytes")), "{over}");
        let counts = api::ReportLimits {
            max_message_bytes: u64::MAX,
            max_findings: 1,
        };
        assert_eq!(check(&request, &counts).unwrap_err().reason, "TOO_MANY_FINDINGS");
    }
}
