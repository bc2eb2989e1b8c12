//! The local stack's stand-in for Cognito: issues RS256 ID tokens with Cognito's claims, signed
//! by an RSA key kept on disk so that tokens and user ids survive restarts.

use crate::DevIssuerError;
use crate::jwks::{Jwk, JwkSet};
use crate::verifier::{IdTokenVerifier, JwksSource, VerifierConfig};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::rsa::PublicKeyComponents;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rsa::pkcs8::{EncodePrivateKey, LineEnding, SecretDocument};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The key file's name inside the folder given to [`DevIssuer::load_or_create`].
pub const KEY_FILE_NAME: &str = "dev-issuer-key.pem";

/// Cognito's user pool keys are 2048-bit RSA.
const KEY_BITS: usize = 2048;

/// The longest email address SMTP allows (RFC 5321 path limit less the angle brackets).
const MAX_EMAIL_LEN: usize = 254;

/// A development token issuer that acts like a Cognito user pool: same token shape, same key
/// publication, so the code under test cannot tell the difference.
#[derive(Debug)]
pub struct DevIssuer {
    issuer: String,
    audience: String,
    jwk: Jwk,
    kid: String,
    key: SigningKey,
}

/// The private key; never printed.
struct SigningKey(RsaKeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// The claims of a Cognito ID token.
#[derive(Serialize)]
struct IdTokenClaims<'a> {
    sub: &'a str,
    email: &'a str,
    email_verified: bool,
    iss: &'a str,
    aud: &'a str,
    token_use: &'static str,
    auth_time: u64,
    iat: u64,
    exp: u64,
    jti: String,
    #[serde(rename = "cognito:username")]
    cognito_username: &'a str,
}

#[derive(Serialize)]
struct JwtHeader<'a> {
    kid: &'a str,
    alg: &'static str,
}

impl DevIssuer {
    /// Loads the signing key from `dir/dev-issuer-key.pem`, or, if there is none, generates an
    /// RSA-2048 key and saves it there (PKCS#8 PEM, mode 0600, folder created as needed).
    /// Tokens name `issuer` as `iss` and `audience` as `aud`.
    pub fn load_or_create(
        dir: &Path,
        issuer: String,
        audience: String,
    ) -> Result<Self, DevIssuerError> {
        let path = dir.join(KEY_FILE_NAME);
        let pem = match std::fs::read_to_string(&path) {
            Ok(pem) => {
                warn_if_readable_by_others(&path);
                pem
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                create_key_file(dir, &path)?
            }
            Err(source) => return Err(DevIssuerError::Io { path, source }),
        };
        Self::from_pkcs8_pem(&pem, issuer, audience).map_err(|error| match error {
            DevIssuerError::InvalidKey { reason } => {
                DevIssuerError::InvalidKeyFile { path, reason }
            }
            other => other,
        })
    }

    /// An issuer with the given RSA private key (PKCS#8 PEM, at least 2048 bits), for callers
    /// that keep the key elsewhere, e.g. tests sharing one key to avoid generating many.
    pub fn from_pkcs8_pem(
        pem: &str,
        issuer: String,
        audience: String,
    ) -> Result<Self, DevIssuerError> {
        let (label, der) =
            SecretDocument::from_pem(pem).map_err(|_| DevIssuerError::InvalidKey {
                reason: "it is not PEM",
            })?;
        if label != "PRIVATE KEY" {
            return Err(DevIssuerError::InvalidKey {
                reason: "it is not a PKCS#8 private key",
            });
        }
        let key_pair =
            RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|_| DevIssuerError::InvalidKey {
                reason: "it is not an RSA key of 2048 to 8192 bits",
            })?;
        let public = PublicKeyComponents::<Vec<u8>>::from(key_pair.public());
        let jwk = Jwk::rs256(&public.n, &public.e);
        let kid = jwk.kid.clone().unwrap_or_default();
        Ok(DevIssuer {
            issuer,
            audience,
            jwk,
            kid,
            key: SigningKey(key_pair),
        })
    }

    /// The `iss` of the tokens issued.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` of the tokens issued (the app client id).
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The `kid` of the signing key: its RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The user id (`sub`) tokens for `email` carry: UUID-shaped, derived from the issuer and the
    /// lowercased email, so the same person keeps the same id across restarts and key changes.
    pub fn sub_for(&self, email: &str) -> Result<String, DevIssuerError> {
        validate_email(email)?;
        Ok(derive_sub(&self.issuer, email))
    }

    /// Issues an ID token for `email` valid for `ttl` from now, with Cognito's ID token claims
    /// (`email_verified` is true: the local stack trusts the address it is given).
    pub fn issue(&self, email: &str, ttl: Duration) -> Result<String, DevIssuerError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.issue_at(email, ttl, now)
    }

    pub(crate) fn issue_at(
        &self,
        email: &str,
        ttl: Duration,
        now: u64,
    ) -> Result<String, DevIssuerError> {
        let sub = self.sub_for(email)?;
        let claims = IdTokenClaims {
            sub: &sub,
            email,
            email_verified: true,
            iss: &self.issuer,
            aud: &self.audience,
            token_use: "id",
            auth_time: now,
            iat: now,
            exp: now.saturating_add(ttl.as_secs()),
            jti: uuid::Uuid::new_v4().to_string(),
            cognito_username: &sub,
        };
        self.sign(&claims)
    }

    /// Signs any claims as an RS256 JWT with this issuer's key (tests use it to forge odd tokens).
    pub(crate) fn sign<C: Serialize>(&self, claims: &C) -> Result<String, DevIssuerError> {
        let header = JwtHeader {
            kid: &self.kid,
            alg: "RS256",
        };
        let header = serde_json::to_vec(&header).map_err(|_| DevIssuerError::Signing)?;
        let claims = serde_json::to_vec(claims).map_err(|_| DevIssuerError::Signing)?;
        let mut token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut signature = vec![0; self.key.0.public().modulus_len()];
        self.key
            .0
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| DevIssuerError::Signing)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }

    /// The public key set, as Cognito serves it at `<issuer>/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.jwk.clone()],
        }
    }

    /// A verifier that accepts exactly this issuer's tokens.
    pub fn verifier(&self) -> IdTokenVerifier {
        IdTokenVerifier::new(VerifierConfig {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            jwks: JwksSource::Static(self.jwks()),
        })
    }
}

/// Generates a key and writes it to `path` without ever leaving a partial or world-readable file
/// there: written to a private temporary file, then linked into place, which fails rather than
/// overwrites if another process got there first (its key is then used instead, so both agree).
fn create_key_file(dir: &Path, path: &Path) -> Result<String, DevIssuerError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DevIssuerError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    tracing::info!(path = %path.display(), "generating the development token signing key");
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, KEY_BITS).map_err(|source| {
        DevIssuerError::KeyGeneration {
            source: Box::new(source),
        }
    })?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|source| DevIssuerError::KeyGeneration {
            source: Box::new(source),
        })?;

    let temp = dir.join(format!(".{KEY_FILE_NAME}.{}.tmp", std::process::id()));
    let written = write_private_file(&temp, pem.as_bytes()).map_err(io_error(&temp));
    let linked = written.and_then(|()| match std::fs::hard_link(&temp, path) {
        Ok(()) => Ok(None),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(path)
                .map(Some)
                .map_err(io_error(path))
        }
        // Some filesystems (e.g. certain container mounts) have no hard links.
        Err(_) => std::fs::rename(&temp, path)
            .map(|()| None)
            .map_err(io_error(path)),
    });
    // Best effort: a leftover temporary file is harmless, and private.
    let _ = std::fs::remove_file(&temp);
    Ok(linked?.unwrap_or_else(|| pem.to_string()))
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "development signing key is readable by others; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Minimal shape check: the issuer is not a mail validator, but it must not mint ids for text
/// that could never be an address.
fn validate_email(email: &str) -> Result<(), DevIssuerError> {
    let invalid = |reason| Err(DevIssuerError::InvalidEmail { reason });
    if email.is_empty() {
        return invalid("is empty");
    }
    if email.len() > MAX_EMAIL_LEN {
        return invalid("is longer than 254 bytes");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid("contains whitespace or control characters");
    }
    match email.rsplit_once('@') {
        None => invalid("has no @"),
        Some(("", _)) => invalid("has nothing before the @"),
        Some((_, "")) => invalid("has nothing after the @"),
        Some(_) => Ok(()),
    }
}

/// A UUID (version 8, "custom") from SHA-256 of the issuer and the lowercased email.
fn derive_sub(issuer: &str, email: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"sde-dev-issuer sub\0");
    hasher.update(issuer.as_bytes());
    hasher.update(b"\0");
    hasher.update(email.to_lowercase().as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::new_v8(bytes).to_string()
}

#[cfg(test)]
mod tests;
