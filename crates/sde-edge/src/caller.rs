//! Who is calling. Every REST route takes a [`SignedIn`] caller; how it is found depends on the
//! host, so the host installs an [`Authenticate`] on the router:
//!
//! - [`TokenAuthenticator`] verifies the ID token of the `Authorization` header itself (the local
//!   stack), sent as `Bearer <token>` or bare as AWS Amplify sends it;
//! - [`GatewayAuthenticator`] reads the claims API Gateway's Cognito authorizer already verified
//!   (the Lambda host puts them on the request as [`GatewayClaims`]).

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sde_auth::{AuthError, IdTokenVerifier, bearer_token};
use sde_core::{Caller, Owner};
use sde_handlers::{ApiError, ApiErrorKind};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

/// Names the signed-in user a request comes from.
#[async_trait]
pub trait Authenticate: Send + Sync + fmt::Debug {
    /// The caller the request `parts` belong to, or a 401 saying why there is none.
    async fn authenticate(&self, parts: &Parts) -> Result<Caller, ApiError>;
}

/// The signed-in caller of a request, found by the router's [`Authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn(pub Caller);

/// The authenticator a router was built with, as a request extension.
#[derive(Debug, Clone)]
pub struct Authenticator(pub Arc<dyn Authenticate>);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = crate::EdgeError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(Authenticator(authenticator)) = parts.extensions.get::<Authenticator>().cloned()
        else {
            return Err(ApiError::internal(std::io::Error::other(
                "the router was built without an authenticator",
            ))
            .into());
        };
        Ok(SignedIn(authenticator.authenticate(parts).await?))
    }
}

/// A 401 with `message`.
pub fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(ApiErrorKind::Unauthorized, message)
}

/// Verifies the ID token of the `Authorization` header against a user pool's (or the
/// development issuer's) keys.
#[derive(Debug, Clone)]
pub struct TokenAuthenticator {
    verifier: Arc<IdTokenVerifier>,
}

impl TokenAuthenticator {
    pub fn new(verifier: Arc<IdTokenVerifier>) -> Self {
        TokenAuthenticator { verifier }
    }

    /// The caller `credential` — an ID token, bare or as `Bearer <token>` — names, or a 401
    /// saying what is wrong with it (never repeating it).
    pub async fn verify(&self, credential: &str) -> Result<Caller, ApiError> {
        let token = bearer_token(credential).map_err(refusal)?;
        self.verifier.verify(token).await.map_err(refusal)
    }
}

fn refusal(error: AuthError) -> ApiError {
    match error {
        AuthError::JwksUnavailable { .. } => {
            ApiError::new(ApiErrorKind::Unavailable, "sign-in keys unavailable").with_source(error)
        }
        AuthError::Missing => unauthorized(MISSING_TOKEN),
        other => unauthorized(other.to_string()),
    }
}

const MISSING_TOKEN: &str =
    "missing Authorization header: send the ID token (\"<token>\" or \"Bearer <token>\")";

#[async_trait]
impl Authenticate for TokenAuthenticator {
    async fn authenticate(&self, parts: &Parts) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthorized(MISSING_TOKEN))?
            .to_str()
            .map_err(|_| unauthorized("the Authorization header is not text"))?;
        self.verify(header).await
    }
}

/// The claims of the ID token API Gateway's Cognito user-pool authorizer verified
/// (`requestContext.authorizer.claims`), every value a string as API Gateway passes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayClaims(pub Map<String, Value>);

/// Names the caller from the [`GatewayClaims`] the Lambda host attached to the request. A
/// request without them reached a function deployed without its authorizer, and is refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct GatewayAuthenticator;

#[async_trait]
impl Authenticate for GatewayAuthenticator {
    async fn authenticate(&self, parts: &Parts) -> Result<Caller, ApiError> {
        let claims = parts
            .extensions
            .get::<GatewayClaims>()
            .ok_or_else(|| unauthorized(MISSING_TOKEN))?;
        caller_from_claims(&claims.0)
    }
}

/// The caller an ID token's claims name: `sub` and `email`, from an ID token (`token_use` `id`)
/// — an access token has no `email` and is refused — and whether `email_verified` vouches for
/// the address (API Gateway passes it as the string `"true"`; anything else is unverified).
pub fn caller_from_claims(claims: &Map<String, Value>) -> Result<Caller, ApiError> {
    let claim = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    match (claim("sub"), claim("email"), claim("token_use").as_deref()) {
        (Some(sub), Some(email), Some("id") | None) => Ok(Caller {
            owner: Owner { sub, email },
            email_verified: claim("email_verified").as_deref() == Some("true"),
        }),
        _ => Err(unauthorized("an ID token with sub and email is required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn the_caller_comes_from_an_id_tokens_claims() {
        let owner = Owner {
            sub: "u-1".into(),
            email: "a@example.com".into(),
        };
        let caller = caller_from_claims(&claims(json!({"sub": "u-1", "email": "a@example.com",
            "token_use": "id", "email_verified": "true"})));
        assert_eq!(caller.ok(), Some(Caller::verified(owner.clone())));
        for unverified in [json!("false"), json!(true), json!(null)] {
            let caller =
                caller_from_claims(&claims(json!({"sub": "u-1", "email": "a@example.com",
                "token_use": "id", "email_verified": unverified})));
            assert_eq!(
                caller.ok(),
                Some(Caller {
                    owner: owner.clone(),
                    email_verified: false
                }),
                "API Gateway passes claims as strings: only \"true\" vouches"
            );
        }
    }

    #[test]
    fn an_access_token_or_claims_without_email_are_refused() {
        for refused in [
            json!({"sub": "u-1", "email": "a@example.com", "token_use": "access"}),
            json!({"sub": "u-1", "token_use": "id"}),
            json!({"sub": "", "email": "a@example.com"}),
            json!({}),
        ] {
            assert_eq!(
                caller_from_claims(&claims(refused)).map_err(|e| e.status()),
                Err(401)
            );
        }
    }
}
