//! Responses written from an encoding made once.
//!
//! A cached advisory is the same bytes on the wire for every call that
//! returns it. [`EncodedVulnerability`] holds those bytes, and
//! [`GetVulnerabilityResponse`], [`BatchGetVulnerabilitiesResponse`] and
//! [`MatchPackagesResponse`] (with its [`PackageMatch`]es) are the wire forms
//! of the `zerotrace.enrichment.v1` messages of those names written from
//! them, so a server answering from its cache copies bytes instead of cloning
//! and re-encoding messages. The enrichment server is generated a second time
//! with these types as its responses
//! ([`crate::enrichment::v1::encoded_server`]); clients keep the generated
//! messages, which decode the same bytes.

use crate::common::v1 as common;
use bytes::{Buf, BufMut, Bytes};
use prost::encoding::{self, DecodeContext, WireType};
use prost::{DecodeError, Message};

/// A `Vulnerability`, encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedVulnerability(Bytes);

impl EncodedVulnerability {
    /// Encodes `vulnerability`.
    pub fn new(vulnerability: &common::Vulnerability) -> Self {
        Self(Bytes::from(vulnerability.encode_to_vec()))
    }

    /// The encoding's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns whether the encoding is empty (a `Vulnerability` with every field unset).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `zerotrace.enrichment.v1.GetVulnerabilityResponse`, with its one field
/// (`vulnerability = 1`) kept encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetVulnerabilityResponse {
    vulnerability: Option<EncodedVulnerability>,
}

/// The field numbers of `GetVulnerabilityResponse`.
mod get_vulnerability_response {
    pub(super) const VULNERABILITY: u32 = 1;
}

impl GetVulnerabilityResponse {
    /// The response carrying `vulnerability`.
    pub fn new(vulnerability: EncodedVulnerability) -> Self {
        Self {
            vulnerability: Some(vulnerability),
        }
    }
}

impl Message for GetVulnerabilityResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        use get_vulnerability_response::*;
        if let Some(EncodedVulnerability(bytes)) = &self.vulnerability {
            encoding::bytes::encode(VULNERABILITY, bytes, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        use get_vulnerability_response::*;
        if tag != VULNERABILITY {
            return encoding::skip_field(wire_type, tag, buf, ctx);
        }
        let mut more = Bytes::new();
        encoding::bytes::merge(wire_type, &mut more, buf, ctx)?;
        // A message field seen twice merges; for encodings, that is their concatenation.
        self.vulnerability = Some(EncodedVulnerability(match self.vulnerability.take() {
            Some(EncodedVulnerability(first)) => [first, more].concat().into(),
            None => more,
        }));
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        use get_vulnerability_response::*;
        self.vulnerability.as_ref().map_or(0, |EncodedVulnerability(bytes)| {
            encoding::bytes::encoded_len(VULNERABILITY, bytes)
        })
    }

    fn clear(&mut self) {
        self.vulnerability = None;
    }
}

/// `zerotrace.enrichment.v1.BatchGetVulnerabilitiesResponse`, with its
/// advisories (`vulnerabilities = 1`) kept encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchGetVulnerabilitiesResponse {
    /// The advisories found, once each.
    pub vulnerabilities: Vec<EncodedVulnerability>,
    /// Requested ids that resolve to nothing.
    pub not_found: Vec<String>,
}

/// The field numbers of `BatchGetVulnerabilitiesResponse`.
mod batch_get_vulnerabilities_response {
    pub(super) const VULNERABILITIES: u32 = 1;
    pub(super) const NOT_FOUND: u32 = 2;
}

impl Message for BatchGetVulnerabilitiesResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        use batch_get_vulnerabilities_response::*;
        encode_all(VULNERABILITIES, &self.vulnerabilities, buf);
        encoding::string::encode_repeated(NOT_FOUND, &self.not_found, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        use batch_get_vulnerabilities_response::*;
        match tag {
            VULNERABILITIES => merge_one(wire_type, &mut self.vulnerabilities, buf, ctx),
            NOT_FOUND => encoding::string::merge_repeated(wire_type, &mut self.not_found, buf, ctx),
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        use batch_get_vulnerabilities_response::*;
        encoded_len_all(VULNERABILITIES, &self.vulnerabilities)
            + encoding::string::encoded_len_repeated(NOT_FOUND, &self.not_found)
    }

    fn clear(&mut self) {
        self.vulnerabilities.clear();
        self.not_found.clear();
    }
}

/// `zerotrace.enrichment.v1.PackageMatch`, with the advisories it embeds
/// (the deprecated `vulnerabilities = 2` and `warnings = 3`) kept encoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageMatch {
    /// The package as sent.
    pub package: Option<common::Package>,
    /// Deprecated shape: the vulnerabilities affecting this version, in full.
    pub vulnerabilities: Vec<EncodedVulnerability>,
    /// Deprecated shape: the informational advisories, in full.
    pub warnings: Vec<EncodedVulnerability>,
    /// Why the package could not be matched, if it could not.
    pub unmatched_reason: String,
    /// The vulnerabilities, as positions in the response's advisories.
    pub vulnerability_refs: Vec<u32>,
    /// The informational advisories, as positions in the response's advisories.
    pub warning_refs: Vec<u32>,
}

/// The field numbers of `PackageMatch`.
mod package_match {
    pub(super) const PACKAGE: u32 = 1;
    pub(super) const VULNERABILITIES: u32 = 2;
    pub(super) const WARNINGS: u32 = 3;
    pub(super) const UNMATCHED_REASON: u32 = 4;
    pub(super) const VULNERABILITY_REFS: u32 = 5;
    pub(super) const WARNING_REFS: u32 = 6;
}

impl Message for PackageMatch {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        use package_match::*;
        if let Some(package) = &self.package {
            encoding::message::encode(PACKAGE, package, buf);
        }
        encode_all(VULNERABILITIES, &self.vulnerabilities, buf);
        encode_all(WARNINGS, &self.warnings, buf);
        if !self.unmatched_reason.is_empty() {
            encoding::string::encode(UNMATCHED_REASON, &self.unmatched_reason, buf);
        }
        encoding::uint32::encode_packed(VULNERABILITY_REFS, &self.vulnerability_refs, buf);
        encoding::uint32::encode_packed(WARNING_REFS, &self.warning_refs, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        use package_match::*;
        match tag {
            PACKAGE => encoding::message::merge(wire_type, self.package.get_or_insert_with(Default::default), buf, ctx),
            VULNERABILITIES => merge_one(wire_type, &mut self.vulnerabilities, buf, ctx),
            WARNINGS => merge_one(wire_type, &mut self.warnings, buf, ctx),
            UNMATCHED_REASON => encoding::string::merge(wire_type, &mut self.unmatched_reason, buf, ctx),
            VULNERABILITY_REFS => encoding::uint32::merge_repeated(wire_type, &mut self.vulnerability_refs, buf, ctx),
            WARNING_REFS => encoding::uint32::merge_repeated(wire_type, &mut self.warning_refs, buf, ctx),
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        use package_match::*;
        self.package
            .as_ref()
            .map_or(0, |package| encoding::message::encoded_len(PACKAGE, package))
            + encoded_len_all(VULNERABILITIES, &self.vulnerabilities)
            + encoded_len_all(WARNINGS, &self.warnings)
            + if self.unmatched_reason.is_empty() {
                0
            } else {
                encoding::string::encoded_len(UNMATCHED_REASON, &self.unmatched_reason)
            }
            + encoding::uint32::encoded_len_packed(VULNERABILITY_REFS, &self.vulnerability_refs)
            + encoding::uint32::encoded_len_packed(WARNING_REFS, &self.warning_refs)
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// `zerotrace.enrichment.v1.MatchPackagesResponse`, with its advisories
/// (`advisories = 3`, and those its matches embed) kept encoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchPackagesResponse {
    /// One entry per requested package, in order.
    pub matches: Vec<PackageMatch>,
    /// The data the matches come from and how current it is.
    pub advisory_data: Option<common::AdvisoryData>,
    /// Every advisory the matches refer to, once each.
    pub advisories: Vec<EncodedVulnerability>,
}

/// The field numbers of `MatchPackagesResponse`.
mod match_packages_response {
    pub(super) const MATCHES: u32 = 1;
    pub(super) const ADVISORY_DATA: u32 = 2;
    pub(super) const ADVISORIES: u32 = 3;
}

impl Message for MatchPackagesResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        use match_packages_response::*;
        encoding::message::encode_repeated(MATCHES, &self.matches, buf);
        if let Some(data) = &self.advisory_data {
            encoding::message::encode(ADVISORY_DATA, data, buf);
        }
        encode_all(ADVISORIES, &self.advisories, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        use match_packages_response::*;
        match tag {
            MATCHES => encoding::message::merge_repeated(wire_type, &mut self.matches, buf, ctx),
            ADVISORY_DATA => encoding::message::merge(
                wire_type,
                self.advisory_data.get_or_insert_with(Default::default),
                buf,
                ctx,
            ),
            ADVISORIES => merge_one(wire_type, &mut self.advisories, buf, ctx),
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        use match_packages_response::*;
        encoding::message::encoded_len_repeated(MATCHES, &self.matches)
            + self
                .advisory_data
                .as_ref()
                .map_or(0, |data| encoding::message::encoded_len(ADVISORY_DATA, data))
            + encoded_len_all(ADVISORIES, &self.advisories)
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// Writes each encoding as one occurrence of the repeated message field `tag`.
fn encode_all(tag: u32, advisories: &[EncodedVulnerability], buf: &mut impl BufMut) {
    for EncodedVulnerability(bytes) in advisories {
        encoding::bytes::encode(tag, bytes, buf);
    }
}

fn encoded_len_all(tag: u32, advisories: &[EncodedVulnerability]) -> usize {
    advisories
        .iter()
        .map(|EncodedVulnerability(bytes)| encoding::bytes::encoded_len(tag, bytes))
        .sum()
}

/// Reads one occurrence of a repeated message field as one more encoding.
fn merge_one(
    wire_type: WireType,
    advisories: &mut Vec<EncodedVulnerability>,
    buf: &mut impl Buf,
    ctx: DecodeContext,
) -> Result<(), DecodeError> {
    let mut bytes = Bytes::new();
    encoding::bytes::merge(wire_type, &mut bytes, buf, ctx)?;
    advisories.push(EncodedVulnerability(bytes));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrichment::v1 as pb;

    fn advisory() -> common::Vulnerability {
        common::Vulnerability {
            id: "RUSTSEC-2023-0071".into(),
            aliases: vec!["CVE-2023-49092".into(), "GHSA-c38w-74pg-36hr".into()],
            summary: "Marvin Attack: potential key recovery through timing sidechannels".into(),
            details: "x".repeat(300),
            cvss_score: 5.9,
            ..Default::default()
        }
    }

    #[test]
    fn the_encoded_response_is_the_generated_responses_bytes() {
        let generated = pb::GetVulnerabilityResponse {
            vulnerability: Some(advisory()),
        };
        let encoded = GetVulnerabilityResponse::new(EncodedVulnerability::new(&advisory()));
        assert_eq!(encoded.encoded_len(), generated.encoded_len());
        assert_eq!(encoded.encode_to_vec(), generated.encode_to_vec());
        assert_eq!(
            pb::GetVulnerabilityResponse::decode(encoded.encode_to_vec().as_slice()).unwrap(),
            generated
        );
        assert!(GetVulnerabilityResponse::default().encode_to_vec().is_empty());
    }

    #[test]
    fn decoding_keeps_the_field_and_merges_it_when_repeated() {
        let first = common::Vulnerability {
            id: "A".into(),
            ..Default::default()
        };
        let second = common::Vulnerability {
            summary: "later".into(),
            ..Default::default()
        };
        let mut wire = pb::GetVulnerabilityResponse {
            vulnerability: Some(first),
        }
        .encode_to_vec();
        wire.extend(
            pb::GetVulnerabilityResponse {
                vulnerability: Some(second),
            }
            .encode_to_vec(),
        );
        // An unknown field is skipped.
        encoding::string::encode(9, &"unknown".to_string(), &mut wire);

        let decoded = GetVulnerabilityResponse::decode(wire.as_slice()).unwrap();
        let merged = pb::GetVulnerabilityResponse::decode(decoded.encode_to_vec().as_slice()).unwrap();
        let merged = merged.vulnerability.unwrap();
        assert_eq!((merged.id.as_str(), merged.summary.as_str()), ("A", "later"));
    }

    #[test]
    fn the_encoded_batch_is_the_generated_batchs_bytes_both_ways() {
        let other = common::Vulnerability {
            id: "GHSA-xxxx-yyyy-zzzz".into(),
            ..Default::default()
        };
        let generated = pb::BatchGetVulnerabilitiesResponse {
            vulnerabilities: vec![advisory(), other.clone()],
            not_found: vec!["CVE-0000-0001".into(), "nope".into()],
        };
        let encoded = BatchGetVulnerabilitiesResponse {
            vulnerabilities: vec![
                EncodedVulnerability::new(&advisory()),
                EncodedVulnerability::new(&other),
            ],
            not_found: generated.not_found.clone(),
        };
        assert_eq!(encoded.encoded_len(), generated.encoded_len());
        assert_eq!(encoded.encode_to_vec(), generated.encode_to_vec());
        assert_eq!(
            BatchGetVulnerabilitiesResponse::decode(generated.encode_to_vec().as_slice()).unwrap(),
            encoded
        );
        assert!(BatchGetVulnerabilitiesResponse::default().encode_to_vec().is_empty());
    }

    #[test]
    fn the_encoded_match_response_is_the_generated_ones_bytes_both_ways() {
        let package = |name: &str| common::Package {
            ecosystem: "crates.io".into(),
            name: name.into(),
            version: "0.1.0".into(),
            ..Default::default()
        };
        let other = common::Vulnerability {
            id: "RUSTSEC-2020-0071".into(),
            summary: "unmaintained".into(),
            ..Default::default()
        };
        let generated = pb::MatchPackagesResponse {
            matches: vec![
                pb::PackageMatch {
                    package: Some(package("rsa")),
                    vulnerabilities: vec![advisory()],
                    warnings: vec![other.clone()],
                    ..Default::default()
                },
                pb::PackageMatch {
                    package: Some(package("time")),
                    vulnerability_refs: vec![0, 300],
                    warning_refs: vec![1],
                    ..Default::default()
                },
                pb::PackageMatch {
                    package: Some(package("")),
                    unmatched_reason: "no name".into(),
                    ..Default::default()
                },
            ],
            advisory_data: Some(common::AdvisoryData {
                generation: 7,
                ..Default::default()
            }),
            advisories: vec![advisory(), other.clone()],
        };
        let encoded = MatchPackagesResponse {
            matches: vec![
                PackageMatch {
                    package: Some(package("rsa")),
                    vulnerabilities: vec![EncodedVulnerability::new(&advisory())],
                    warnings: vec![EncodedVulnerability::new(&other)],
                    ..Default::default()
                },
                PackageMatch {
                    package: Some(package("time")),
                    vulnerability_refs: vec![0, 300],
                    warning_refs: vec![1],
                    ..Default::default()
                },
                PackageMatch {
                    package: Some(package("")),
                    unmatched_reason: "no name".into(),
                    ..Default::default()
                },
            ],
            advisory_data: generated.advisory_data.clone(),
            advisories: vec![
                EncodedVulnerability::new(&advisory()),
                EncodedVulnerability::new(&other),
            ],
        };
        assert_eq!(encoded.encoded_len(), generated.encoded_len());
        assert_eq!(encoded.encode_to_vec(), generated.encode_to_vec());
        assert_eq!(
            MatchPackagesResponse::decode(generated.encode_to_vec().as_slice()).unwrap(),
            encoded
        );
        assert!(MatchPackagesResponse::default().encode_to_vec().is_empty());
    }
}
