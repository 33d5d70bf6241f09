//! Page tokens: opaque, signed continuations of a listing, and the cursor
//! each listing keeps in them. A token is `base64url(version, kind, scope,
//! body, mac)`: `scope` is a hash of the request's filter and order, so a
//! token only continues the listing it came from, and `mac` an HMAC under a
//! secret the database holds (replicas share it). Encoding and decoding a
//! cursor is written once per cursor, here ([`Cursor`]).

use crate::digest::{digest_parts, hex, unhex};
use crate::store::{FindingCursor, ScanCursor};
use crate::{ApiError, StartError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

const PAGE_TOKEN_VERSION: u8 = 1;
const MAC_LEN: usize = 16;
const SCOPE_LEN: usize = 16;

/// Which list a page token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageKind {
    Scans = 1,
    Findings = 2,
    Agents = 3,
    Decisions = 4,
}

/// Seals and opens page tokens (see the module documentation).
#[derive(Clone)]
pub(crate) struct PageTokens {
    mac: HmacSha256,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageTokens").finish_non_exhaustive()
    }
}

impl PageTokens {
    pub(crate) fn new(key: &[u8]) -> Result<Self, StartError> {
        let mac = HmacSha256::new_from_slice(key).map_err(|e| StartError::Secret(format!("page token key: {e}")))?;
        Ok(Self { mac })
    }

    fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// Returns the token continuing a listing of `kind` with `scope` after `body`.
    fn seal(&self, kind: PageKind, scope: &[u8; 32], body: &[u8]) -> String {
        let mut bytes = Vec::with_capacity(2 + SCOPE_LEN + body.len() + MAC_LEN);
        bytes.push(PAGE_TOKEN_VERSION);
        bytes.push(kind as u8);
        bytes.extend_from_slice(scope.get(..SCOPE_LEN).unwrap_or_default());
        bytes.extend_from_slice(body);
        let mut mac = self.mac();
        mac.update(&bytes);
        let tag = mac.finalize().into_bytes();
        bytes.extend_from_slice(tag.get(..MAC_LEN).unwrap_or_default());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Returns the body of a token sealed for `kind` and `scope`; anything
    /// else (garbage, a forged or altered token, another listing's token) is
    /// INVALID_ARGUMENT.
    fn open(&self, token: &str, kind: PageKind, scope: &[u8; 32]) -> Result<Vec<u8>, ApiError> {
        let bytes = URL_SAFE_NO_PAD.decode(token.as_bytes()).map_err(|_| invalid())?;
        if bytes.len() < 2 + SCOPE_LEN + MAC_LEN {
            return Err(invalid());
        }
        let (signed, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut mac = self.mac();
        mac.update(signed);
        mac.verify_truncated_left(tag).map_err(|_| invalid())?;
        let (header, body) = signed.split_at(2 + SCOPE_LEN);
        if header.first() != Some(&PAGE_TOKEN_VERSION) || header.get(1) != Some(&(kind as u8)) {
            return Err(invalid());
        }
        if header.get(2..) != scope.get(..SCOPE_LEN) {
            return Err(ApiError::invalid(
                "page_token does not belong to this request (filter or sort changed)",
            ));
        }
        Ok(body.to_vec())
    }

    /// Returns the cursor a `page_token` continues from, or `None` for the
    /// first page. `listing` is the request with its paging fields cleared:
    /// the token must come from the same filter and order.
    pub(crate) fn after<C: Cursor>(
        &self,
        page_token: &str,
        listing: &impl prost::Message,
    ) -> Result<Option<C>, ApiError> {
        if page_token.is_empty() {
            return Ok(None);
        }
        let body = self.open(page_token, C::KIND, &scope(C::KIND, listing))?;
        let mut reader = BodyReader::new(&body);
        let cursor = C::read(&mut reader)?;
        reader.end()?;
        Ok(Some(cursor))
    }

    /// Returns the `next_page_token` that continues `listing` after `cursor`.
    pub(crate) fn next<C: Cursor>(&self, listing: &impl prost::Message, cursor: &C) -> String {
        let mut body = BodyWriter::default();
        cursor.write(&mut body);
        self.seal(C::KIND, &scope(C::KIND, listing), &body.0)
    }
}

/// Returns the hash that ties a page token to its listing.
fn scope<M: prost::Message>(kind: PageKind, request: &M) -> [u8; 32] {
    digest_parts(&[&[kind as u8], &request.encode_to_vec()])
}

/// A position in a listing, as a page token carries it.
pub(crate) trait Cursor: Sized {
    /// The listing the cursor belongs to.
    const KIND: PageKind;
    /// Appends the cursor to a token body.
    fn write(&self, body: &mut BodyWriter);
    /// Reads the cursor back; a shortfall or a bad value is an invalid token.
    fn read(body: &mut BodyReader<'_>) -> Result<Self, ApiError>;
}

impl Cursor for ScanCursor {
    const KIND: PageKind = PageKind::Scans;

    fn write(&self, body: &mut BodyWriter) {
        body.i64(self.started_at).i64(self.seq);
    }

    fn read(body: &mut BodyReader<'_>) -> Result<Self, ApiError> {
        Ok(ScanCursor {
            started_at: body.i64()?,
            seq: body.i64()?,
        })
    }
}

/// The position in a findings listing, with the total the first page
/// counted: later pages carry it instead of counting every match again.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FindingsPosition {
    pub(crate) cursor: FindingCursor,
    pub(crate) total: u64,
}

impl Cursor for FindingsPosition {
    const KIND: PageKind = PageKind::Findings;

    fn write(&self, body: &mut BodyWriter) {
        let c = &self.cursor;
        body.f64(c.risk_score)
            .i64(c.severity)
            .i64(c.last_seen)
            .str(&hex(&c.key))
            .i64(i64::try_from(self.total).unwrap_or(i64::MAX));
    }

    fn read(body: &mut BodyReader<'_>) -> Result<Self, ApiError> {
        let cursor = FindingCursor {
            risk_score: body.f64()?,
            severity: body.i64()?,
            last_seen: body.i64()?,
            key: unhex(&body.str()?).ok_or_else(invalid)?,
        };
        let total = u64::try_from(body.i64()?).unwrap_or(0);
        Ok(FindingsPosition { cursor, total })
    }
}

/// The position in the agents listing: the last agent id returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgentsPosition(pub(crate) String);

impl Cursor for AgentsPosition {
    const KIND: PageKind = PageKind::Agents;

    fn write(&self, body: &mut BodyWriter) {
        body.str(&self.0);
    }

    fn read(body: &mut BodyReader<'_>) -> Result<Self, ApiError> {
        Ok(AgentsPosition(body.str()?))
    }
}

/// The position in the decisions listing: the last decision id returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecisionsPosition(pub(crate) String);

impl Cursor for DecisionsPosition {
    const KIND: PageKind = PageKind::Decisions;

    fn write(&self, body: &mut BodyWriter) {
        body.str(&self.0);
    }

    fn read(body: &mut BodyReader<'_>) -> Result<Self, ApiError> {
        Ok(DecisionsPosition(body.str()?))
    }
}

fn invalid() -> ApiError {
    ApiError::invalid("invalid page_token")
}

/// Writes a page token body.
#[derive(Debug, Default)]
pub(crate) struct BodyWriter(Vec<u8>);

impl BodyWriter {
    fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn f64(&mut self, v: f64) -> &mut Self {
        self.0.extend_from_slice(&v.to_bits().to_be_bytes());
        self
    }

    fn str(&mut self, v: &str) -> &mut Self {
        self.0.extend_from_slice(&(v.len() as u32).to_be_bytes());
        self.0.extend_from_slice(v.as_bytes());
        self
    }
}

/// Reads a page token body; any shortfall is an invalid token.
#[derive(Debug)]
pub(crate) struct BodyReader<'a>(&'a [u8]);

impl<'a> BodyReader<'a> {
    fn new(body: &'a [u8]) -> Self {
        Self(body)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ApiError> {
        if self.0.len() < n {
            return Err(invalid());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array8(&mut self) -> Result<[u8; 8], ApiError> {
        self.take(8)?.try_into().map_err(|_| invalid())
    }

    fn i64(&mut self) -> Result<i64, ApiError> {
        Ok(i64::from_be_bytes(self.array8()?))
    }

    fn f64(&mut self) -> Result<f64, ApiError> {
        Ok(f64::from_bits(u64::from_be_bytes(self.array8()?)))
    }

    fn str(&mut self) -> Result<String, ApiError> {
        let len: [u8; 4] = self.take(4)?.try_into().map_err(|_| invalid())?;
        let bytes = self.take(u32::from_be_bytes(len) as usize)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| invalid())
    }

    fn end(&self) -> Result<(), ApiError> {
        if self.0.is_empty() { Ok(()) } else { Err(invalid()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerotrace_proto::api::v1 as pb;

    #[test]
    fn page_tokens_round_trip_and_reject_tampering() {
        let tokens = PageTokens::new(b"secret").unwrap();
        let listing = pb::ListScansRequest {
            agent_id: "a".to_string(),
            ..Default::default()
        };
        let cursor = ScanCursor { started_at: 42, seq: 7 };
        let token = tokens.next(&listing, &cursor);
        assert_eq!(tokens.after::<ScanCursor>(&token, &listing).unwrap(), Some(cursor));
        assert_eq!(tokens.after::<ScanCursor>("", &listing).unwrap(), None);

        // Another listing kind, another filter, another key, a flipped byte, garbage.
        assert!(tokens.after::<AgentsPosition>(&token, &listing).is_err());
        let other = pb::ListScansRequest {
            agent_id: "b".to_string(),
            ..Default::default()
        };
        assert!(tokens.after::<ScanCursor>(&token, &other).is_err());
        assert!(
            PageTokens::new(b"other")
                .unwrap()
                .after::<ScanCursor>(&token, &listing)
                .is_err()
        );
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        raw[20] ^= 1;
        assert!(
            tokens
                .after::<ScanCursor>(&URL_SAFE_NO_PAD.encode(raw), &listing)
                .is_err()
        );
        assert!(tokens.after::<ScanCursor>("not a token!", &listing).is_err());
    }

    #[test]
    fn findings_positions_round_trip_with_their_total() {
        let tokens = PageTokens::new(b"secret").unwrap();
        let listing = pb::ListFindingsRequest::default();
        let position = FindingsPosition {
            cursor: FindingCursor {
                risk_score: 9.5,
                severity: 6,
                last_seen: 1_800_000_000_000_000,
                key: vec![0xab; 16],
            },
            total: 1234,
        };
        let token = tokens.next(&listing, &position);
        assert_eq!(
            tokens.after::<FindingsPosition>(&token, &listing).unwrap(),
            Some(position)
        );
    }
}
