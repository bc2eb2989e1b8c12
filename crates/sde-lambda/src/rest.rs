//! API Gateway REST proxy events (with a Cognito user-pool authorizer) in, proxy responses out.

use base64::Engine as _;
use sde_core::Owner;
use sde_handlers::{ApiError, ApiErrorKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use tracing::{debug, error};

/// The parts of a REST proxy event the handlers use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestEvent {
    /// The request headers (last value of each; names as the client sent them).
    #[serde(default)]
    pub headers: Option<HashMap<String, String>>,
    /// The raw body.
    #[serde(default)]
    pub body: Option<String>,
    /// Whether `body` is base64 (binary media types).
    #[serde(default)]
    pub is_base64_encoded: bool,
    /// Who is calling, as API Gateway saw them.
    #[serde(default)]
    pub request_context: RestContext,
}

/// The `requestContext` of a REST proxy event.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestContext {
    /// API Gateway's id of the request.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Present when the route has the Cognito authorizer.
    #[serde(default)]
    pub authorizer: Option<Authorizer>,
}

/// What the Cognito user-pool authorizer verified: the ID token's claims.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Authorizer {
    /// The claims, every value a string (`"email_verified": "true"`).
    #[serde(default)]
    pub claims: Option<HashMap<String, Value>>,
}

/// A REST proxy response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestResponse {
    /// The HTTP status.
    pub status_code: u16,
    /// Content type, CORS and, on 401, `WWW-Authenticate`.
    pub headers: HashMap<String, String>,
    /// The JSON body.
    pub body: String,
    /// Always false: bodies are JSON text.
    pub is_base64_encoded: bool,
}

impl RestEvent {
    /// The caller named by the authorizer's claims. API Gateway has already verified the token;
    /// without claims the function was deployed without its authorizer, which is refused.
    pub fn caller(&self) -> Result<Owner, ApiError> {
        let claims = self
            .request_context
            .authorizer
            .as_ref()
            .and_then(|a| a.claims.as_ref())
            .ok_or_else(|| {
                ApiError::new(
                    ApiErrorKind::Unauthorized,
                    "missing Authorization: Bearer <ID token>",
                )
            })?;
        let claim = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        match (claim("sub"), claim("email"), claim("token_use").as_deref()) {
            (Some(sub), Some(email), Some("id") | None) => Ok(Owner { sub, email }),
            _ => Err(ApiError::new(
                ApiErrorKind::Unauthorized,
                "an ID token with sub and email is required",
            )),
        }
    }

    /// The JSON body: 415 unless declared `application/json`, 400 saying where it is malformed.
    pub fn json_body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let content_type = self
            .headers
            .iter()
            .flatten()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, value)| value.as_str());
        let is_json = content_type
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                ApiErrorKind::UnsupportedMediaType,
                "send the body as Content-Type: application/json",
            ));
        }
        let raw = self.body.as_deref().unwrap_or("");
        let bytes = if self.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(|e| ApiError::bad_request(format!("invalid base64 body: {e}")))?
        } else {
            raw.as_bytes().to_vec()
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// Turns a handler's result into a proxy response with CORS for `cors_origin`. Server errors
/// are logged with their cause and answered with an opaque body.
pub fn respond<T: Serialize>(result: Result<T, ApiError>, cors_origin: &str) -> RestResponse {
    let (status, body) = match result
        .and_then(|value| serde_json::to_value(value).map_err(ApiError::internal))
    {
        Ok(value) => (200, value),
        Err(error) => {
            if error.is_server_error() {
                error!(error = %sde_handlers::task_failure::describe_chain(&error), "request failed");
            } else {
                debug!(status = error.status(), message = %error, "request refused");
            }
            (error.status(), error.body())
        }
    };
    let mut headers = HashMap::from([
        ("Content-Type".to_owned(), "application/json".to_owned()),
        (
            "Access-Control-Allow-Origin".to_owned(),
            cors_origin.to_owned(),
        ),
        ("Vary".to_owned(), "Origin".to_owned()),
    ]);
    if status == 401 {
        headers.insert("WWW-Authenticate".to_owned(), "Bearer".to_owned());
    }
    RestResponse {
        status_code: status,
        headers,
        body: body.to_string(),
        is_base64_encoded: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(body: Value) -> RestEvent {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn the_caller_comes_from_the_cognito_authorizer_claims() {
        let e = event(json!({"requestContext": {"authorizer": {"claims": {
            "sub": "u-1", "email": "a@example.com", "token_use": "id"}}}}));
        assert_eq!(
            e.caller().unwrap(),
            Owner {
                sub: "u-1".into(),
                email: "a@example.com".into()
            }
        );
        let access_token = event(json!({"requestContext": {"authorizer": {"claims": {
            "sub": "u-1", "email": "a@example.com", "token_use": "access"}}}}));
        assert_eq!(access_token.caller().unwrap_err().status(), 401);
        assert_eq!(RestEvent::default().caller().unwrap_err().status(), 401);
    }

    #[test]
    fn bodies_must_be_declared_json_and_parse() {
        let ok = event(
            json!({"headers": {"content-type": "application/json; charset=utf-8"}, "body": "{\"a\":1}"}),
        );
        assert_eq!(ok.json_body::<Value>().unwrap(), json!({"a": 1}));
        let encoded = event(
            json!({"headers": {"Content-Type": "application/json"}, "body": "eyJhIjoxfQ==", "isBase64Encoded": true}),
        );
        assert_eq!(encoded.json_body::<Value>().unwrap(), json!({"a": 1}));
        let text = event(json!({"headers": {"Content-Type": "text/plain"}, "body": "{}"}));
        assert_eq!(text.json_body::<Value>().unwrap_err().status(), 415);
        let broken = event(json!({"headers": {"Content-Type": "application/json"}, "body": "{"}));
        assert!(
            broken
                .json_body::<Value>()
                .unwrap_err()
                .to_string()
                .starts_with("invalid JSON body")
        );
    }

    #[test]
    fn server_errors_answer_without_internals_and_with_cors() {
        let response = respond::<Value>(
            Err(ApiError::internal(std::io::Error::other(
                "db at 10.0.0.3 down",
            ))),
            "https://app.example.com",
        );
        assert_eq!(response.status_code, 500);
        assert_eq!(response.body, "{\"message\":\"internal error\"}");
        assert_eq!(
            response.headers["Access-Control-Allow-Origin"],
            "https://app.example.com"
        );
    }
}
