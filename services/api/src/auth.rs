//! Who may call: bearer tokens (random, stored only as SHA-256), the reader
//! token of read calls, agent tokens, the registration token, and the
//! per-agent rate limit of agent calls.

use crate::ApiError;
use crate::admission::AuthenticatedAgent;
use crate::digest::{hex, random_bytes};
use crate::rate::RateLimiter;
use crate::store::Store;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use tonic::Request;
use tonic::metadata::MetadataMap;

/// What every token the API makes starts with. Base64url may start with `-`,
/// and a command line then reads the token as a flag (`--token -Ix…`); the
/// prefix also lets secret scanners know a ZeroTrace token when they see one.
const TOKEN_PREFIX: &str = "zt_";

/// Returns a fresh bearer token: `zt_`, then 32 random bytes in base64url
/// without padding.
pub fn generate_token() -> Result<String, ApiError> {
    let bytes = random_bytes::<32>().map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Returns the hex SHA-256 of a token: what the database holds instead of it.
pub(crate) fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Returns the bearer token of a call, if any.
pub(crate) fn bearer(metadata: &MetadataMap) -> Option<&str> {
    let value = metadata.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The credentials the service checks calls against.
#[derive(Debug)]
pub(crate) struct Credentials {
    reader_hash: String,
    registration_hash: Option<String>,
    admin_hash: Option<String>,
    rate: Option<RateLimiter>,
}

impl Credentials {
    /// Returns the checks for a reader token, an optional registration token
    /// and a rate limit of agent calls per second (0 = off).
    pub(crate) fn new(
        reader_token: &str,
        registration_token: Option<&str>,
        admin_token: Option<&str>,
        rate_per_agent: u32,
    ) -> Self {
        Self {
            reader_hash: hash_token(reader_token),
            registration_hash: registration_token.map(hash_token),
            admin_hash: admin_token.map(hash_token),
            rate: RateLimiter::new(rate_per_agent),
        }
    }

    /// Admits a read call: it carries the reader token, or the admin token
    /// (an admin reads what it changes).
    pub(crate) fn reader(&self, metadata: &MetadataMap) -> Result<(), ApiError> {
        match bearer(metadata).map(hash_token) {
            Some(hash) if same_hash(&hash, &self.reader_hash) || self.is_admin(&hash) => Ok(()),
            Some(_) => Err(ApiError::TokenInvalid("reader token")),
            None => Err(ApiError::TokenMissing("reader token")),
        }
    }

    /// Admits an admin call: it carries the admin token, and one is
    /// configured. The reader token is known but read-only: PERMISSION_DENIED.
    pub(crate) fn admin(&self, metadata: &MetadataMap) -> Result<(), ApiError> {
        if self.admin_hash.is_none() {
            return Err(ApiError::denied(
                "ADMIN_DISABLED",
                "admin calls are off: start the API with --admin-token",
            ));
        }
        match bearer(metadata).map(hash_token) {
            Some(hash) if self.is_admin(&hash) => Ok(()),
            Some(hash) if same_hash(&hash, &self.reader_hash) => Err(ApiError::denied(
                "READ_ONLY_TOKEN",
                "the reader token is read-only: this call needs the admin token",
            )),
            Some(_) => Err(ApiError::TokenInvalid("admin token")),
            None => Err(ApiError::TokenMissing("admin token")),
        }
    }

    /// Whether a token's hash is the admin token's.
    fn is_admin(&self, hash: &str) -> bool {
        self.admin_hash.as_deref().is_some_and(|admin| same_hash(hash, admin))
    }

    /// Whether RegisterAgent needs the registration token (for a new agent).
    pub(crate) fn registration_required(&self) -> bool {
        self.registration_hash.is_some()
    }

    /// Returns the agent the call's token belongs to, within its rate limit.
    pub(crate) async fn agent(&self, store: &dyn Store, metadata: &MetadataMap) -> Result<String, ApiError> {
        let token = bearer(metadata).ok_or(ApiError::TokenMissing("agent token"))?;
        let hash = hash_token(token);
        let agent = store
            .agent_for_token(&hash)
            .await?
            .ok_or(ApiError::TokenInvalid("agent token"))?;
        if let Some(rate) = &self.rate
            && !rate.allow(&hash)
        {
            return Err(ApiError::RateLimited(rate.rate()));
        }
        Ok(agent)
    }

    /// Authenticates an agent call that names the calling agent (`agent_id`):
    /// an agent acts only as itself (PERMISSION_DENIED otherwise). The agent
    /// that admission found for the call is taken as it is (its token was
    /// looked up and its rate counted once, there).
    pub(crate) async fn agent_as<T>(
        &self,
        store: &dyn Store,
        request: &Request<T>,
        agent_id: &str,
    ) -> Result<String, ApiError> {
        let caller = match request.extensions().get::<AuthenticatedAgent>() {
            Some(AuthenticatedAgent(agent)) => agent.clone(),
            None => self.agent(store, request.metadata()).await?,
        };
        crate::validate::check_id("agent_id", agent_id)?;
        if agent_id != caller {
            return Err(ApiError::denied("AGENT_MISMATCH", "agent_id is not the token's agent"));
        }
        Ok(caller)
    }

    /// Returns whether RegisterAgent of a new agent needs a registration
    /// token that the call (whose bearer hashes to `bearer_hash`) lacks.
    pub(crate) fn registration_refused(&self, bearer_hash: Option<&str>) -> bool {
        self.registration_hash
            .as_deref()
            .is_some_and(|required| !bearer_hash.is_some_and(|presented| same_hash(presented, required)))
    }
}

/// Compares two token hashes in time independent of where they differ.
fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut metadata = MetadataMap::new();
        assert_eq!(bearer(&metadata), None);
        metadata.insert("authorization", "bearer abc".parse().unwrap());
        assert_eq!(bearer(&metadata), Some("abc"));
        metadata.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&metadata), None);
    }

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 46);
        // A token is a command-line value, never a flag: one in 64 base64url
        // tokens would start with `-` without the prefix.
        for _ in 0..1000 {
            assert!(generate_token().unwrap().starts_with("zt_"));
        }
        assert_eq!(hash_token("x"), hash_token("x"));
        assert_eq!(hash_token("x").len(), 64);
    }

    #[test]
    fn the_reader_token_is_checked_by_its_hash() {
        let credentials = Credentials::new("reader-secret", None, None, 0);
        let mut metadata = MetadataMap::new();
        assert!(credentials.reader(&metadata).is_err());
        metadata.insert("authorization", "Bearer wrong".parse().unwrap());
        assert!(credentials.reader(&metadata).is_err());
        metadata.insert("authorization", "Bearer reader-secret".parse().unwrap());
        assert!(credentials.reader(&metadata).is_ok());
        assert!(!credentials.registration_refused(None));
        let guarded = Credentials::new("r", Some("reg"), None, 0);
        assert!(
            guarded.admin(&metadata).is_err(),
            "no admin token configured: admin calls are off"
        );
        let admin = Credentials::new("r", None, Some("adm"), 0);
        assert!(
            admin.admin(&metadata).is_err(),
            "the reader token is not the admin token"
        );
        metadata.insert("authorization", "Bearer adm".parse().unwrap());
        assert!(admin.admin(&metadata).is_ok());
        assert!(same_hash("ab", "ab") && !same_hash("ab", "ac") && !same_hash("ab", "abc"));
        assert!(guarded.registration_refused(None));
        assert!(!guarded.registration_refused(Some(&hash_token("reg"))));
    }
}
