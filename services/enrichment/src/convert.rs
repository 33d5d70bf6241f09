//! Advisory-database types to the gRPC contract's.

use zerotrace_advisory::{ScoredAdvisory, Severity, Source};
use zerotrace_proto::common::v1 as common;

/// Returns the contract's severity of a band.
pub(crate) fn severity(band: Severity) -> common::Severity {
    match band {
        Severity::Unknown => common::Severity::Unknown,
        Severity::None => common::Severity::None,
        Severity::Low => common::Severity::Low,
        Severity::Medium => common::Severity::Medium,
        Severity::High => common::Severity::High,
        Severity::Critical => common::Severity::Critical,
    }
}

/// Returns the matching rule's source of a contract package source; an
/// unset or unknown one counts as the registry (the contract says so).
pub(crate) fn source(source: i32) -> Source {
    match common::PackageSource::try_from(source).unwrap_or(common::PackageSource::Unspecified) {
        common::PackageSource::Unspecified | common::PackageSource::Registry => Source::Registry,
        common::PackageSource::Git => Source::Git,
        common::PackageSource::Path => Source::Path,
        common::PackageSource::Workspace => Source::Workspace,
    }
}

/// Returns a protobuf timestamp of an RFC 3339 string or a bare `YYYY-MM-DD` date.
pub(crate) fn timestamp(text: &str) -> Option<prost_types::Timestamp> {
    let text = text.trim();
    let full;
    let text = if text.len() == 10 {
        full = format!("{text}T00:00:00Z");
        full.as_str()
    } else {
        text
    };
    let (seconds, nanos) = zerotrace_advisory::time::parse_rfc3339(text)?;
    Some(prost_types::Timestamp {
        seconds,
        nanos: i32::try_from(nanos).ok()?,
    })
}

/// Returns the contract's vulnerability of a scored advisory.
pub(crate) fn vulnerability(advisory: &ScoredAdvisory) -> common::Vulnerability {
    common::Vulnerability {
        id: advisory.id.clone(),
        aliases: advisory.aliases.clone(),
        summary: advisory.summary.clone().unwrap_or_default(),
        details: advisory.details.clone().unwrap_or_default(),
        severity: severity(advisory.severity) as i32,
        cvss: advisory
            .cvss
            .iter()
            .filter_map(|c| {
                c.score.map(|score| common::CvssScore {
                    r#type: c.kind.clone(),
                    vector: c.vector.clone(),
                    base_score: score,
                })
            })
            .collect(),
        cvss_score: advisory.max_score.unwrap_or(0.0),
        epss_score: advisory.epss.map(|e| e.score).unwrap_or(0.0),
        epss_percentile: advisory.epss.map(|e| e.percentile).unwrap_or(0.0),
        known_exploited: advisory.is_kev(),
        kev_date_added: advisory.kev.as_ref().and_then(|k| timestamp(&k.date_added)),
        fixed_versions: advisory.fixed_versions.clone(),
        references: advisory
            .references
            .iter()
            .map(|r| common::Reference {
                r#type: r.kind.clone(),
                url: r.url.clone(),
            })
            .collect(),
        published: advisory.published.as_deref().and_then(timestamp),
        modified: timestamp(&advisory.modified),
        withdrawn: advisory.withdrawn.as_deref().and_then(timestamp),
        risk_score: advisory.risk,
        informational: advisory
            .informational
            .as_ref()
            .map(|i| i.as_str().to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_convert() {
        assert_eq!(timestamp("1970-01-02").map(|t| t.seconds), Some(86_400));
        assert_eq!(timestamp("2024-01-01T00:00:00.5Z").map(|t| t.nanos), Some(500_000_000));
        assert_eq!(timestamp("yesterday"), None);
    }
}
