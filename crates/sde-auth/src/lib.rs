//! Sign-in for sde: every call carries a Cognito ID token, which [`IdTokenVerifier`] checks
//! against the user pool's published keys and turns into the [`sde_core::Caller`] it names. The local stack has no
//! Cognito, so [`DevIssuer`] stands in for it, issuing ID tokens with the same claims and
//! publishing its key the same way.

mod bearer;
mod dev_issuer;
mod error;
mod jwks;
mod verifier;

pub use bearer::bearer_token;
pub use dev_issuer::{DevIssuer, KEY_FILE_NAME};
pub use error::{AuthError, DevIssuerError};
pub use jwks::{Jwk, JwkSet};
pub use verifier::{DEFAULT_REFETCH_INTERVAL, IdTokenVerifier, JwksSource, VerifierConfig};

#[cfg(test)]
pub(crate) mod test_support;
