//! Secrets: bearer tokens (random, stored only as SHA-256), finding ids, and
//! opaque page tokens signed with HMAC-SHA256.

use crate::ApiError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// Returns `N` bytes from the operating system's random source.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

/// Returns a fresh bearer token: 32 random bytes, base64url without padding.
pub fn generate_token() -> Result<String, ApiError> {
    let bytes = random_bytes::<32>().map_err(|e| ApiError::Secret(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Returns the lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Reads lowercase hex (as [`hex`] writes it); `None` for anything else.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Returns the hex SHA-256 of a token: what the database holds instead of it.
pub(crate) fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Returns the SHA-256 of `parts`, each length-prefixed so that no two
/// different part lists hash alike.
pub(crate) fn digest_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

const PAGE_TOKEN_VERSION: u8 = 1;
const MAC_LEN: usize = 16;
const SCOPE_LEN: usize = 16;

/// Which list a page token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageKind {
    Scans = 1,
    Findings = 2,
    Agents = 3,
}

/// Seals and opens page tokens: `base64url(version, kind, scope, body, mac)`
/// where `scope` is a hash of the request's filter and order, so a token only
/// continues the listing it came from, and `mac` an HMAC under a secret the
/// database holds (replicas share it).
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
    pub(crate) fn new(key: &[u8]) -> Result<Self, ApiError> {
        let mac = HmacSha256::new_from_slice(key).map_err(|e| ApiError::Secret(format!("page token key: {e}")))?;
        Ok(Self { mac })
    }

    fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// Returns the token continuing a listing of `kind` with `scope` after `body`.
    pub(crate) fn seal(&self, kind: PageKind, scope: &[u8; 32], body: &[u8]) -> String {
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
    pub(crate) fn open(&self, token: &str, kind: PageKind, scope: &[u8; 32]) -> Result<Vec<u8>, ApiError> {
        let invalid = || ApiError::invalid("invalid page_token");
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
}

/// Writes a page token body.
#[derive(Debug, Default)]
pub(crate) struct BodyWriter(Vec<u8>);

impl BodyWriter {
    pub(crate) fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn f64(mut self, v: f64) -> Self {
        self.0.extend_from_slice(&v.to_bits().to_be_bytes());
        self
    }

    pub(crate) fn str(mut self, v: &str) -> Self {
        self.0.extend_from_slice(&(v.len() as u32).to_be_bytes());
        self.0.extend_from_slice(v.as_bytes());
        self
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Reads a page token body; any shortfall is an invalid token.
#[derive(Debug)]
pub(crate) struct BodyReader<'a>(&'a [u8]);

impl<'a> BodyReader<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Self(body)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ApiError> {
        if self.0.len() < n {
            return Err(ApiError::invalid("invalid page_token"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array8(&mut self) -> Result<[u8; 8], ApiError> {
        self.take(8)?
            .try_into()
            .map_err(|_| ApiError::invalid("invalid page_token"))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, ApiError> {
        Ok(i64::from_be_bytes(self.array8()?))
    }

    pub(crate) fn f64(&mut self) -> Result<f64, ApiError> {
        Ok(f64::from_bits(u64::from_be_bytes(self.array8()?)))
    }

    pub(crate) fn str(&mut self) -> Result<String, ApiError> {
        let len: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| ApiError::invalid("invalid page_token"))?;
        let bytes = self.take(u32::from_be_bytes(len) as usize)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::invalid("invalid page_token"))
    }

    pub(crate) fn end(&self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid("invalid page_token"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_unhex_refuses_anything_else() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&bytes)), Some(bytes));
        assert_eq!(unhex(""), Some(Vec::new()));
        for bad in ["0", "0g", "AB", "0x12", "1 2 "] {
            assert_eq!(unhex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn page_tokens_round_trip_and_reject_tampering() {
        let tokens = PageTokens::new(b"secret").unwrap();
        let scope = digest_parts(&[b"filter"]);
        let body = BodyWriter::default().i64(42).str("abc").f64(1.5).finish();
        let token = tokens.seal(PageKind::Findings, &scope, &body);
        let opened = tokens.open(&token, PageKind::Findings, &scope).unwrap();
        let mut reader = BodyReader::new(&opened);
        assert_eq!(reader.i64().unwrap(), 42);
        assert_eq!(reader.str().unwrap(), "abc");
        assert_eq!(reader.f64().unwrap(), 1.5);
        reader.end().unwrap();

        // Another kind, another scope, another key, a flipped byte, garbage.
        assert!(tokens.open(&token, PageKind::Scans, &scope).is_err());
        assert!(
            tokens
                .open(&token, PageKind::Findings, &digest_parts(&[b"other"]))
                .is_err()
        );
        assert!(
            PageTokens::new(b"other")
                .unwrap()
                .open(&token, PageKind::Findings, &scope)
                .is_err()
        );
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        raw[20] ^= 1;
        assert!(
            tokens
                .open(&URL_SAFE_NO_PAD.encode(raw), PageKind::Findings, &scope)
                .is_err()
        );
        assert!(tokens.open("not a token!", PageKind::Findings, &scope).is_err());
        assert!(tokens.open("", PageKind::Findings, &scope).is_err());
    }

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token("x"), hash_token("x"));
        assert_eq!(hash_token("x").len(), 64);
    }
}
