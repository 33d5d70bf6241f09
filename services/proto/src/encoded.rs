//! Responses written from an encoding made once.
//!
//! A cached advisory is the same bytes on the wire for every call that
//! returns it. [`EncodedVulnerability`] holds those bytes, and
//! [`GetVulnerabilityResponse`] and [`BatchGetVulnerabilitiesResponse`] are
//! the wire forms of the `zerotrace.enrichment.v1` messages of those names
//! written from them, so a server answering from its cache copies bytes
//! instead of cloning and re-encoding messages. The enrichment server is
//! generated a second time with these types as the look-ups' responses
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

/// The field number of `GetVulnerabilityResponse.vulnerability`.
const VULNERABILITY: u32 = 1;

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
const VULNERABILITIES: u32 = 1;
const NOT_FOUND: u32 = 2;

impl Message for BatchGetVulnerabilitiesResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        for EncodedVulnerability(bytes) in &self.vulnerabilities {
            encoding::bytes::encode(VULNERABILITIES, bytes, buf);
        }
        encoding::string::encode_repeated(NOT_FOUND, &self.not_found, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            VULNERABILITIES => {
                let mut bytes = Bytes::new();
                encoding::bytes::merge(wire_type, &mut bytes, buf, ctx)?;
                self.vulnerabilities.push(EncodedVulnerability(bytes));
                Ok(())
            }
            NOT_FOUND => encoding::string::merge_repeated(wire_type, &mut self.not_found, buf, ctx),
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        self.vulnerabilities
            .iter()
            .map(|EncodedVulnerability(bytes)| encoding::bytes::encoded_len(VULNERABILITIES, bytes))
            .sum::<usize>()
            + encoding::string::encoded_len_repeated(NOT_FOUND, &self.not_found)
    }

    fn clear(&mut self) {
        self.vulnerabilities.clear();
        self.not_found.clear();
    }
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
}
