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
    #[serde(default)]
    pub request_context: WsContext,
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsContext {
    #[serde(default)]
    pub route_key: String,
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
    pub status_code: u16,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
}

impl WsResponse {
    pub fn ok() -> Self {
        WsResponse {
            status_code: 200,
            body: String::new(),
        }
    }

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
    #[serde(default)]
    pub method_arn: String,
    #[serde(default)]
    pub query_string_parameters: Option<HashMap<String, String>>,
}

impl AuthorizerEvent {
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
