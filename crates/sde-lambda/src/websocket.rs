//! API Gateway WebSocket events: the `$connect` authorizer (the ID token travels in the query
//! string, as browsers cannot set headers on a WebSocket), and the routes `$connect`,
//! `$disconnect` and `OpenConnection`, whose caller is the authorizer's context.

use sde_core::Owner;
use sde_handlers::{ApiError, ApiErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

/// A WebSocket route event.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsEvent {
    /// The route, the connection and the authorizer's context.
    #[serde(default)]
    pub request_context: WsContext,
    /// The client's message (`MESSAGE` events only).
    #[serde(default)]
    pub body: Option<String>,
}

/// The `requestContext` of a WebSocket route event.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsContext {
    /// `$connect`, `$disconnect`, or the message's `action` (`OpenConnection`).
    #[serde(default)]
    pub route_key: String,
    /// The connection to post frames to.
    #[serde(default)]
    pub connection_id: String,
    /// The context the `$connect` authorizer returned; API Gateway attaches it to every later
    /// message of the connection.
    #[serde(default)]
    pub authorizer: Option<HashMap<String, Value>>,
}

impl WsEvent {
    /// The caller the `$connect` authorizer verified.
    pub fn caller(&self) -> Result<Owner, ApiError> {
        let context = self.request_context.authorizer.as_ref();
        let field = |name: &str| {
            context
                .and_then(|c| c.get(name))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        match (field("sub"), field("email")) {
            (Some(sub), Some(email)) => Ok(Owner { sub, email }),
            _ => Err(ApiError::new(
                ApiErrorKind::Unauthorized,
                "the connection was not authorized",
            )),
        }
    }

    /// The message body as JSON.
    pub fn json_body<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_str(self.body.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("invalid JSON message: {e}")))
    }
}

/// A WebSocket route's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WsResponse {
    /// The status API Gateway logs (and, on `$connect`, answers the handshake with).
    pub status_code: u16,
    /// `{"message": …}` on errors.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
}

impl WsResponse {
    /// Accepted.
    pub fn ok() -> Self {
        WsResponse {
            status_code: 200,
            body: String::new(),
        }
    }

    /// Refused with the error's status and public message.
    pub fn from_error(error: &ApiError) -> Self {
        WsResponse {
            status_code: error.status(),
            body: error.body().to_string(),
        }
    }
}

/// The `$connect` authorizer's request (a REQUEST authorizer with `route.request.querystring.token`
/// as its identity source).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerEvent {
    /// The `$connect` route the policy must allow.
    #[serde(default)]
    pub method_arn: String,
    /// The connect URL's query string; `token` holds the ID token.
    #[serde(default)]
    pub query_string_parameters: Option<HashMap<String, String>>,
}

impl AuthorizerEvent {
    /// The ID token of the `token` query parameter.
    pub fn token(&self) -> Option<&str> {
        self.query_string_parameters
            .as_ref()?
            .get("token")
            .map(String::as_str)
    }
}

/// Allows the connection and hands `owner` to every later route of it.
pub fn allow(owner: &Owner, method_arn: &str) -> Value {
    json!({
        "principalId": owner.sub,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}]
        },
        "context": {"sub": owner.sub, "email": owner.email}
    })
}

/// Why the `$connect` authorizer refused a connection.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerError {
    /// No token, or one that does not verify: API Gateway answers 401.
    #[error("Unauthorized")]
    Unauthorized,
    /// The user pool's keys could not be fetched: API Gateway answers 500, and the client may
    /// try again.
    #[error("the user pool's signing keys could not be fetched")]
    KeysUnavailable(#[source] sde_auth::AuthError),
}

impl From<AuthorizerError> for lambda_runtime::Diagnostic {
    fn from(error: AuthorizerError) -> Self {
        // API Gateway turns exactly the message "Unauthorized" into a 401; any other error is a 500.
        let error_type = match error {
            AuthorizerError::Unauthorized => "Unauthorized",
            AuthorizerError::KeysUnavailable(_) => "AuthorizerUnavailable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_of_a_message_is_the_authorizers_context() {
        let event: WsEvent = serde_json::from_value(json!({"requestContext": {
            "routeKey": "OpenConnection", "connectionId": "abc=",
            "authorizer": {"sub": "u-1", "email": "a@example.com", "principalId": "u-1"}},
            "body": "{\"action\":\"OpenConnection\",\"executionArn\":\"arn\"}"}))
        .unwrap();
        assert_eq!(event.caller().unwrap().sub, "u-1");
        assert_eq!(event.json_body::<Value>().unwrap()["executionArn"], "arn");
        assert_eq!(WsEvent::default().caller().unwrap_err().status(), 401);
    }

    #[test]
    fn an_allow_policy_covers_only_the_method_and_carries_the_owner() {
        let owner = Owner {
            sub: "u-1".into(),
            email: "a@example.com".into(),
        };
        let policy = allow(&owner, "arn:aws:execute-api:eu-west-1:1:api/dev/$connect");
        assert_eq!(
            policy["policyDocument"]["Statement"][0]["Resource"],
            "arn:aws:execute-api:eu-west-1:1:api/dev/$connect"
        );
        assert_eq!(
            policy["context"],
            json!({"sub": "u-1", "email": "a@example.com"})
        );
    }
}
