//! API Gateway WebSocket events: the `$connect` authorizer (the ID token travels in the query
//! string, as browsers cannot set headers on a WebSocket), and the routes `$connect`,
//! `$disconnect`, `OpenConnection` and `$default`, whose messages go to the WebSocket edge of
//! `sde-edge` — the same dispatcher the local stack runs.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse, ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use sde_auth::{AuthError, IdTokenVerifier, bearer_token};
use sde_core::Owner;
use sde_edge::caller::unauthorized;
use sde_edge::ws::{PushParts, on_message};
use sde_handlers::ApiError;
use sde_handlers::push::Subscriber;
use serde_json::{Value, json};
use tracing::{debug, error, info};

/// Whether connections without a token may follow a push export by its ARN (off by default;
/// see SECURITY.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnonymousPush(pub bool);

/// Answers one WebSocket route event.
pub async fn route(
    parts: PushParts<'_>,
    anonymous: AnonymousPush,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let context = &event.request_context;
    let route = context.route_key.as_deref().unwrap_or_default();
    let connection_id = context.connection_id.as_deref().unwrap_or_default();
    let status = match route {
        "$connect" | "$disconnect" => {
            debug!(route, connection_id, "websocket route");
            200
        }
        _ => {
            let text = event.body.as_deref().unwrap_or_default();
            on_message(parts, subscriber(&event, anonymous), connection_id, text).await
        }
    };
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status);
    response
}

/// Who opened the connection, as the `$connect` authorizer's context says.
pub fn subscriber(
    event: &ApiGatewayWebsocketProxyRequest,
    anonymous: AnonymousPush,
) -> Result<Subscriber, ApiError> {
    let context = &event.request_context.authorizer.fields;
    let field = |name: &str| {
        context
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    match (field("sub"), field("email"), field("anonymous").as_deref()) {
        (Some(sub), Some(email), _) => Ok(Subscriber::Owner(Owner { sub, email })),
        (None, None, Some("true")) if anonymous.0 => Ok(Subscriber::Anonymous),
        _ => Err(unauthorized("the connection was not authorized")),
    }
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
    KeysUnavailable(#[source] AuthError),
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

/// The `$connect` REQUEST authorizer: the ID token of the `token` query parameter (bare or
/// `Bearer <token>`), verified against the user pool, allows the connection and names its owner
/// to every later route. Without a token, the connection is allowed as anonymous only when the
/// deployment opts in; a token that does not verify is always refused.
pub async fn authorize(
    verifier: &IdTokenVerifier,
    anonymous: AnonymousPush,
    event: ApiGatewayCustomAuthorizerRequestTypeRequest,
) -> Result<ApiGatewayCustomAuthorizerResponse, AuthorizerError> {
    let method_arn = event.method_arn.clone().unwrap_or_default();
    let credential = event
        .query_string_parameters
        .first("token")
        .map(str::trim)
        .filter(|token| !token.is_empty());
    let Some(credential) = credential else {
        if anonymous.0 {
            info!("connection allowed without a token");
            return Ok(allow(
                "anonymous",
                json!({"anonymous": "true"}),
                &method_arn,
            ));
        }
        info!("connection refused: no token");
        return Err(AuthorizerError::Unauthorized);
    };
    let verified = match bearer_token(credential) {
        Ok(token) => verifier.verify(token).await,
        Err(error) => Err(error),
    };
    match verified {
        Ok(caller) => Ok(allow(
            &caller.owner.sub,
            json!({"sub": caller.owner.sub, "email": caller.owner.email}),
            &method_arn,
        )),
        Err(error @ AuthError::JwksUnavailable { .. }) => {
            error!(error = %sde_core::describe_chain(&error), "connection not checked");
            Err(AuthorizerError::KeysUnavailable(error))
        }
        Err(error) => {
            info!(reason = %error, "connection refused");
            Err(AuthorizerError::Unauthorized)
        }
    }
}

/// Allows the `$connect` route `method_arn` and hands `context` to every later route of the
/// connection.
fn allow(principal: &str, context: Value, method_arn: &str) -> ApiGatewayCustomAuthorizerResponse {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = IamPolicyEffect::Allow;
    statement.resource = vec![method_arn.to_owned()];
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = vec![statement];
    let mut response = ApiGatewayCustomAuthorizerResponse::default();
    response.principal_id = Some(principal.to_owned());
    response.policy_document = policy;
    response.context = context;
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn event(authorizer: Value) -> ApiGatewayWebsocketProxyRequest {
        serde_json::from_value(json!({"requestContext": {
            "routeKey": "OpenConnection", "connectionId": "abc=", "connectedAt": 1, "requestTimeEpoch": 1,
            "authorizer": authorizer}}))
        .expect("a WebSocket event")
    }

    #[test]
    fn the_subscriber_is_the_authorizers_context() {
        let owner = event(json!({"sub": "u-1", "email": "a@example.com", "principalId": "u-1"}));
        assert_eq!(
            subscriber(&owner, AnonymousPush(false)).ok(),
            Some(Subscriber::Owner(Owner {
                sub: "u-1".into(),
                email: "a@example.com".into()
            }))
        );
        let anonymous = event(json!({"anonymous": "true", "principalId": "anonymous"}));
        assert_eq!(
            subscriber(&anonymous, AnonymousPush(true)).ok(),
            Some(Subscriber::Anonymous)
        );
        assert_eq!(
            subscriber(&anonymous, AnonymousPush(false)).map_err(|e| e.status()),
            Err(401),
            "an anonymous context is refused where the deployment does not opt in"
        );
        assert_eq!(
            subscriber(&event(json!({})), AnonymousPush(true)).map_err(|e| e.status()),
            Err(401)
        );
    }

    #[test]
    fn an_allow_policy_covers_only_the_method_and_carries_the_context() {
        let policy = allow(
            "u-1",
            json!({"sub": "u-1"}),
            "arn:aws:execute-api:eu-west-1:1:api/dev/$connect",
        );
        let policy = serde_json::to_value(policy).unwrap_or_default();
        assert_eq!(
            policy["policyDocument"]["Statement"][0]["Resource"],
            json!(["arn:aws:execute-api:eu-west-1:1:api/dev/$connect"])
        );
        assert_eq!(policy["policyDocument"]["Statement"][0]["Effect"], "Allow");
        assert_eq!(policy["context"], json!({"sub": "u-1"}));
        assert_eq!(policy["principalId"], "u-1");
    }
}
