//! Verification of Cognito ID tokens: RS256 signature against the issuer's key set, then the
//! claims Cognito documents for ID tokens (`iss`, `aud`, `token_use`, `exp`).

use crate::AuthError;
use crate::jwks::{JwkSet, KeyTable};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sde_core::{Caller, Owner};
use serde::Deserialize;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// The least time between two fetches of a remote key set, so that tokens with made-up `kid`s
/// cannot make every request fetch it.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// How long after a failed fetch another may be tried, if sooner than the refetch interval.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// How long a key set fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Tokens longer than this are refused unread; Cognito's are a few kilobytes.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Where the issuer's signing keys come from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    /// A fixed key set, such as the development issuer's own.
    Static(JwkSet),
    /// A key set fetched over HTTP(S) on first use and again when a token names an unknown key.
    Url(String),
}

impl JwksSource {
    /// The key set URL Cognito publishes for an issuer: `<issuer>/.well-known/jwks.json`.
    pub fn for_issuer(issuer: &str) -> Self {
        JwksSource::Url(format!(
            "{}/.well-known/jwks.json",
            issuer.trim_end_matches('/')
        ))
    }
}

/// What an [`IdTokenVerifier`] accepts.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The required `iss`: for Cognito, `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub issuer: String,
    /// The required `aud`: the user pool app client id.
    pub audience: String,
    /// The issuer's signing keys.
    pub jwks: JwksSource,
}

/// Checks ID tokens and names their [`Caller`]. Cheap to share behind an `Arc`; a remote key set
/// is cached and refreshed at most once per refetch interval, when a token names a key it lacks
/// (which is how Cognito key rotation shows up).
pub struct IdTokenVerifier {
    validation: Validation,
    issuer: String,
    audience: String,
    remote: Option<Remote>,
    keys: RwLock<Arc<KeyTable>>,
}

struct Remote {
    url: String,
    client: reqwest::Client,
    refetch_interval: Duration,
    /// When the next fetch may happen; `None` before the first. Held across a fetch so
    /// concurrent requests for the same unknown key wait for one fetch instead of each making one.
    next_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for IdTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("jwks_url", &self.remote.as_ref().map(|r| &r.url))
            .field("keys", &self.current_keys().len())
            .finish()
    }
}

/// The token header members looked at before the signature is checked.
#[derive(Deserialize)]
struct PeekedHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// The ID token claims checked here beyond those `jsonwebtoken` validates (`exp`, `iss`, `aud`).
#[derive(Deserialize)]
struct IdClaims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<EmailVerified>,
    #[serde(default)]
    token_use: Option<String>,
}

/// Cognito sends a boolean in ID tokens, but a string in some user-attribute contexts.
#[derive(Deserialize)]
#[serde(untagged)]
enum EmailVerified {
    Bool(bool),
    Text(String),
}

impl IdTokenVerifier {
    /// A verifier for tokens of `config.issuer` meant for `config.audience`. A remote key set
    /// is not fetched until the first token needs it.
    pub fn new(config: VerifierConfig) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.leeway = LEEWAY_SECS;
        let (remote, keys) = match config.jwks {
            JwksSource::Static(set) => (None, KeyTable::from_set(&set)),
            JwksSource::Url(url) => (
                Some(Remote {
                    url,
                    client: reqwest::Client::new(),
                    refetch_interval: DEFAULT_REFETCH_INTERVAL,
                    next_fetch: tokio::sync::Mutex::new(None),
                }),
                KeyTable::default(),
            ),
        };
        IdTokenVerifier {
            validation,
            issuer: config.issuer,
            audience: config.audience,
            remote,
            keys: RwLock::new(Arc::new(keys)),
        }
    }

    /// Sets the least time between two fetches of a remote key set (default
    /// [`DEFAULT_REFETCH_INTERVAL`]); no effect on a static key set.
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        if let Some(remote) = &mut self.remote {
            remote.refetch_interval = interval;
        }
        self
    }

    /// The issuer whose tokens are accepted.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The app client id tokens must be meant for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Verifies an ID token and returns who it names. Fetches a remote key set first if the
    /// token's key is not known yet and the refetch interval allows; a failed fetch is
    /// [`AuthError::JwksUnavailable`] and is retried no sooner than 5 seconds later (until then
    /// such tokens are [`AuthError::UnknownKey`]).
    pub async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let kid = peek_kid(token)?;
        if let Some(caller) = self.verify_with_known_key(token, &kid) {
            return caller;
        }
        let Some(remote) = &self.remote else {
            return Err(AuthError::UnknownKey);
        };
        self.refresh(remote, &kid).await?;
        self.verify_with_known_key(token, &kid)
            .unwrap_or(Err(AuthError::UnknownKey))
    }

    /// Verifies an ID token with the keys at hand, never fetching: for a static key set this is
    /// the whole check; for a remote one a token whose key has not been fetched yet is
    /// [`AuthError::UnknownKey`].
    pub fn verify_cached(&self, token: &str) -> Result<Caller, AuthError> {
        let kid = peek_kid(token)?;
        self.verify_with_known_key(token, &kid)
            .unwrap_or(Err(AuthError::UnknownKey))
    }

    fn current_keys(&self) -> Arc<KeyTable> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// `None` if `kid` is not a known key.
    fn verify_with_known_key(&self, token: &str, kid: &str) -> Option<Result<Caller, AuthError>> {
        let keys = self.current_keys();
        let key = keys.get(kid)?;
        Some(self.check(token, key))
    }

    fn check(&self, token: &str, key: &DecodingKey) -> Result<Caller, AuthError> {
        let data = jsonwebtoken::decode::<IdClaims>(token, key, &self.validation)
            .map_err(|error| from_jwt_error(&error))?;
        let claims = data.claims;
        if claims.token_use.as_deref() != Some("id") {
            return Err(AuthError::WrongTokenUse);
        }
        // Cognito writes `email_verified` whenever the user has an address; without it the
        // address is not vouched for.
        let email_verified = match claims.email_verified {
            None | Some(EmailVerified::Bool(false)) => false,
            Some(EmailVerified::Bool(true)) => true,
            Some(EmailVerified::Text(text)) => match text.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(AuthError::Malformed),
            },
        };
        let sub = claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or(AuthError::Malformed)?;
        let email = claims
            .email
            .filter(|e| !e.is_empty())
            .ok_or(AuthError::Malformed)?;
        Ok(Caller {
            owner: Owner { sub, email },
            email_verified,
        })
    }

    /// Fetches the remote key set unless another task just did, the key appeared meanwhile, or
    /// the refetch interval has not passed (then the caller reports the key as unknown).
    async fn refresh(&self, remote: &Remote, kid: &str) -> Result<(), AuthError> {
        let mut next_fetch = remote.next_fetch.lock().await;
        if self.current_keys().get(kid).is_some() {
            return Ok(());
        }
        let now = Instant::now();
        if next_fetch.is_some_and(|at| now < at) {
            tracing::debug!(%kid, "unknown jwk kid; key set fetched recently, not refetching");
            return Ok(());
        }
        match fetch(remote).await {
            Ok(set) => {
                let table = KeyTable::from_set(&set);
                tracing::info!(url = %remote.url, keys = table.len(), "fetched token signing keys");
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(table);
                *next_fetch = Some(now + remote.refetch_interval);
                Ok(())
            }
            Err(source) => {
                tracing::warn!(url = %remote.url, error = %source, "cannot fetch token signing keys");
                *next_fetch = Some(now + remote.refetch_interval.min(RETRY_AFTER_FAILURE));
                Err(AuthError::JwksUnavailable { source })
            }
        }
    }
}

async fn fetch(remote: &Remote) -> Result<JwkSet, reqwest::Error> {
    remote
        .client
        .get(&remote.url)
        .timeout(FETCH_TIMEOUT)
        .send()
        .await?
        .error_for_status()?
        .json::<JwkSet>()
        .await
}

/// Reads the token's header without trusting it: refuses any algorithm but RS256 (so neither
/// `none` nor an HMAC keyed with the public key can pass) and returns the `kid`.
fn peek_kid(token: &str) -> Result<String, AuthError> {
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(AuthError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::Malformed)?;
    let header: PeekedHeader = serde_json::from_slice(&header).map_err(|_| AuthError::Malformed)?;
    if header.alg != "RS256" {
        return Err(AuthError::BadSignature);
    }
    header.kid.ok_or(AuthError::Malformed)
}

fn from_jwt_error(error: &jsonwebtoken::errors::Error) -> AuthError {
    match error.kind() {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::Crypto(_) => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        _ => AuthError::Malformed,
    }
}

#[cfg(test)]
mod tests;
