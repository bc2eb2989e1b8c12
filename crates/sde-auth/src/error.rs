//! Errors of this crate: why a token was refused, and why the development issuer failed.

use std::path::PathBuf;

/// Why a request's ID token was refused. Every kind means "not signed in" (HTTP 401) to the
/// caller; the kinds exist for logs and tests. The messages never include the token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` token was presented.
    #[error("no bearer token was presented")]
    Missing,
    /// The token is not a well-formed JWT, or lacks a claim an ID token must have.
    #[error("the token is not a well-formed ID token")]
    Malformed,
    /// The signature does not verify, or the token is not signed with RS256.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// The token's `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// The token's `iss` is not the configured user pool.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// The token's `aud` is not the configured app client.
    #[error("the token was issued for another app client")]
    WrongAudience,
    /// The token is not an ID token (`token_use` is not `id`, e.g. an access token).
    #[error("the token is not an ID token")]
    WrongTokenUse,
    /// The token's `kid` names no key in the issuer's key set.
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    /// The issuer's key set could not be fetched.
    #[error("the token issuer's signing keys could not be fetched")]
    JwksUnavailable {
        /// The failed request.
        #[source]
        source: reqwest::Error,
    },
}

/// Why the development token issuer could not load its key or issue a token.
#[derive(Debug, thiserror::Error)]
pub enum DevIssuerError {
    /// The key file or its folder could not be read or written.
    #[error("cannot read or write the development signing key at {}", path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The failed operation.
        #[source]
        source: std::io::Error,
    },
    /// The key file holds no usable RSA private key.
    #[error("the development signing key at {} is invalid: {reason}", path.display())]
    InvalidKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The PEM text given holds no usable RSA private key.
    #[error("the development signing key is invalid: {reason}")]
    InvalidKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A new key could not be generated (the system's random source failed).
    #[error("cannot generate the development signing key")]
    KeyGeneration {
        /// The underlying failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The email address to issue a token for is not one.
    #[error("not a usable email address: it {reason}")]
    InvalidEmail {
        /// What is wrong with it, as the end of a sentence starting "it".
        reason: &'static str,
    },
    /// Signing the token failed.
    #[error("cannot sign the token")]
    Signing,
}
