//! OSV JSON: the raw schema as read from files, and the trimmed record the
//! database stores.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::time::{Instant, instant_or_min, parse_rfc3339};

/// The kind of an OSV range event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum EventKind {
    /// `introduced`: affected from this version on (`"0"`: from the start).
    Introduced,
    /// `last_affected`: affected up to and including this version.
    LastAffected,
    /// `fixed`: not affected from this version on.
    Fixed,
    /// `limit`: an upper bound on the whole range (`"*"`: none).
    Limit,
}

/// One range event: a kind and its version string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Event {
    pub(crate) kind: EventKind,
    pub(crate) version: String,
}

/// An `affected[].ranges[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Range {
    /// `SEMVER`, `ECOSYSTEM` or `GIT` (anything else is kept but never matched).
    pub(crate) kind: String,
    pub(crate) events: Vec<Event>,
}

/// A `severity[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SeverityEntry {
    pub(crate) kind: String,
    pub(crate) score: String,
}

/// A `references[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReferenceEntry {
    pub(crate) kind: String,
    pub(crate) url: String,
}

/// An `affected[]` entry, trimmed to what matching and scoring use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Affected {
    pub(crate) ecosystem: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) ranges: Vec<Range>,
    pub(crate) versions: Vec<String>,
    pub(crate) severity: Vec<SeverityEntry>,
    /// RustSec's `database_specific.informational`.
    pub(crate) informational: Option<String>,
    /// `database_specific.severity` or `ecosystem_specific.severity`.
    pub(crate) label: Option<String>,
}

/// An advisory as the database stores it: the OSV fields the crate uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Advisory {
    pub(crate) id: String,
    pub(crate) modified: String,
    pub(crate) published: Option<String>,
    pub(crate) withdrawn: Option<String>,
    pub(crate) aliases: Vec<String>,
    pub(crate) summary: Option<String>,
    pub(crate) details: Option<String>,
    pub(crate) severity: Vec<SeverityEntry>,
    pub(crate) affected: Vec<Affected>,
    pub(crate) references: Vec<ReferenceEntry>,
    /// Top-level `database_specific.severity` (GitHub: `MODERATE`, ...).
    pub(crate) label: Option<String>,
}

impl Advisory {
    /// Returns the parsed `modified` time (validated at import, so the
    /// fallback only matters for a corrupted store).
    pub(crate) fn modified_instant(&self) -> Instant {
        instant_or_min(&self.modified)
    }
}

#[derive(Deserialize)]
struct RawAdvisory {
    id: Option<String>,
    modified: Option<String>,
    published: Option<String>,
    withdrawn: Option<String>,
    aliases: Option<Vec<String>>,
    summary: Option<String>,
    details: Option<String>,
    severity: Option<Vec<RawSeverity>>,
    affected: Option<Vec<RawAffected>>,
    references: Option<Vec<RawReference>>,
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    severity: Option<Vec<RawSeverity>>,
    ranges: Option<Vec<RawRange>>,
    versions: Option<Vec<String>>,
    ecosystem_specific: Option<Value>,
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    events: Option<Vec<RawEvent>>,
}

#[derive(Deserialize)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

/// Returns the string `severity` of a `*_specific` object, if any.
fn label_of(v: Option<&Value>) -> Option<String> {
    v?.get("severity")?.as_str().map(str::to_string)
}

/// Parses one OSV advisory from JSON bytes.
///
/// The advisory is rejected (with a reason) when it is not valid JSON of the
/// OSV shape, has no non-empty `id`, or lacks a valid RFC 3339 `modified`.
/// A range event that does not name exactly one of `introduced`, `fixed`,
/// `last_affected`, `limit` is dropped; a bad `published`/`withdrawn`
/// timestamp is kept as given (it only informs, it is not ordered by).
pub(crate) fn parse_advisory(bytes: &[u8]) -> Result<Advisory, String> {
    let raw: RawAdvisory = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let id = raw.id.map(|s| s.trim().to_string()).unwrap_or_default();
    if id.is_empty() || id.chars().any(char::is_whitespace) {
        return Err("missing or malformed `id`".to_string());
    }
    let modified = raw.modified.ok_or_else(|| "missing `modified`".to_string())?;
    if parse_rfc3339(&modified).is_none() {
        return Err(format!("`modified` is not an RFC 3339 timestamp: {modified:?}"));
    }
    let severities = |s: Option<Vec<RawSeverity>>| {
        s.unwrap_or_default()
            .into_iter()
            .map(|s| SeverityEntry {
                kind: s.kind,
                score: s.score,
            })
            .collect::<Vec<_>>()
    };
    let affected = raw
        .affected
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            let (ecosystem, name) = match a.package {
                Some(p) => (p.ecosystem, p.name),
                None => (None, None),
            };
            let informational = a
                .database_specific
                .as_ref()
                .and_then(|d| d.get("informational"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let label = label_of(a.database_specific.as_ref()).or_else(|| label_of(a.ecosystem_specific.as_ref()));
            let ranges = a
                .ranges
                .unwrap_or_default()
                .into_iter()
                .map(|r| Range {
                    kind: r.kind,
                    events: r.events.unwrap_or_default().into_iter().filter_map(event).collect(),
                })
                .collect();
            Affected {
                ecosystem,
                name,
                ranges,
                versions: a.versions.unwrap_or_default(),
                severity: severities(a.severity),
                informational,
                label,
            }
        })
        .collect();
    Ok(Advisory {
        id,
        modified,
        published: raw.published,
        withdrawn: raw.withdrawn,
        aliases: raw.aliases.unwrap_or_default(),
        summary: raw.summary,
        details: raw.details,
        severity: severities(raw.severity),
        affected,
        references: raw
            .references
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                Some(ReferenceEntry {
                    kind: r.kind.unwrap_or_default(),
                    url: r.url?,
                })
            })
            .collect(),
        label: label_of(raw.database_specific.as_ref()),
    })
}

fn event(e: RawEvent) -> Option<Event> {
    let mut found = [
        (EventKind::Introduced, e.introduced),
        (EventKind::Fixed, e.fixed),
        (EventKind::LastAffected, e.last_affected),
        (EventKind::Limit, e.limit),
    ]
    .into_iter()
    .filter_map(|(kind, v)| v.map(|version| Event { kind, version }));
    let first = found.next()?;
    if found.next().is_some() {
        return None;
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_trims() {
        let json = br#"{
            "id": "GHSA-xxxx", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2024-1"],
            "database_specific": {"severity": "MODERATE"},
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Foo"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}, {"fixed": "2", "introduced": "1"}, {}]}],
                "versions": ["0.9"],
                "database_specific": {"informational": "unsound"}}],
            "references": [{"type": "WEB", "url": "https://example.org"}, {"type": "WEB"}]
        }"#;
        let a = parse_advisory(json).unwrap();
        assert_eq!(a.id, "GHSA-xxxx");
        assert_eq!(a.label.as_deref(), Some("MODERATE"));
        let aff = &a.affected[0];
        assert_eq!(aff.ranges[0].events.len(), 2);
        assert_eq!(aff.informational.as_deref(), Some("unsound"));
        assert_eq!(a.references.len(), 1);
    }

    #[test]
    fn rejects_invalid() {
        assert!(parse_advisory(b"not json").is_err());
        assert!(parse_advisory(b"[]").is_err());
        assert!(parse_advisory(br#"{"modified": "2024-01-01T00:00:00Z"}"#).is_err());
        assert!(parse_advisory(br#"{"id": "X-1"}"#).is_err());
        assert!(parse_advisory(br#"{"id": "X-1", "modified": "yesterday"}"#).is_err());
        assert!(parse_advisory(br#"{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": 3}"#).is_err());
        assert!(parse_advisory(br#"{"id": "X-1", "modified": "2024-01-01T00:00:00Z"}"#).is_ok());
    }
}
