//! The WebSocket functions driven with events in the shape API Gateway sends (hand-written, see
//! `tests/fixtures/apigw/README.md`): the `$connect` REQUEST authorizer, and `$connect`,
//! `$disconnect`, `OpenConnection` and `$default` on `push-open-connection`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayWebsocketProxyRequest,
};
use common::*;
use lambda_runtime::Diagnostic;
use sde_auth::DevIssuer;
use sde_core::{ExecutionStatus, PendingDelivery, PushRegistry};
use sde_edge::ws::PushParts;
use sde_lambda::websocket::{self, AnonymousPush, AuthorizerError};
use sde_local::MemoryPushRegistry;
use serde_json::{Value, json};
use std::time::Duration;

const METHOD_ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:wsapi45678/dev/$connect";

fn issuer(dir: &tempfile::TempDir) -> DevIssuer {
    DevIssuer::load_or_create(
        dir.path(),
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123".into(),
        "5r7nq2c0d8k1l4m6p9s3t0u2v4".into(),
    )
    .unwrap()
}

fn authorizer_event_with_token(
    token: Option<&str>,
) -> ApiGatewayCustomAuthorizerRequestTypeRequest {
    let mut event = fixture_json("ws-authorizer-connect.json");
    match token {
        Some(token) => event["queryStringParameters"]["token"] = json!(token),
        None => {
            event["queryStringParameters"] = Value::Null;
            event["multiValueQueryStringParameters"] = Value::Null;
        }
    }
    if let Some(token) = token {
        event["multiValueQueryStringParameters"]["token"] = json!([token]);
    }
    serde_json::from_value(event).unwrap()
}

fn policy_json(policy: ApiGatewayCustomAuthorizerResponse) -> Value {
    serde_json::to_value(policy).unwrap()
}

/// The parts `push-open-connection` answers with.
fn parts<'a>(
    workflow: &'a FakeWorkflow,
    registry: &'a MemoryPushRegistry,
    channel: &'a RecordingChannel,
) -> PushParts<'a> {
    PushParts {
        workflow,
        registry,
        channel,
    }
}

async fn route(parts: PushParts<'_>, event: ApiGatewayWebsocketProxyRequest) -> i64 {
    websocket::route(parts, AnonymousPush(false), event)
        .await
        .status_code
}

#[tokio::test]
async fn a_valid_id_token_allows_the_connection_and_names_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = issuer(&dir);
    let token = issuer.issue(EMAIL, Duration::from_secs(3600)).unwrap();
    for credential in [token.clone(), format!("Bearer {token}")] {
        let policy = websocket::authorize(
            &issuer.verifier(),
            AnonymousPush(false),
            authorizer_event_with_token(Some(&credential)),
        )
        .await
        .unwrap();
        let policy = policy_json(policy);
        assert_eq!(policy["principalId"], issuer.sub_for(EMAIL).unwrap());
        let statement = &policy["policyDocument"]["Statement"][0];
        assert_eq!(statement["Effect"], "Allow");
        assert_eq!(statement["Resource"], json!([METHOD_ARN]));
        assert_eq!(policy["context"]["email"], EMAIL);
    }
}

#[tokio::test]
async fn a_token_the_pool_did_not_sign_or_none_is_unauthorized() {
    let dir = tempfile::tempdir().unwrap();
    let verifier = issuer(&dir).verifier();
    let foreign = websocket::authorize(
        &verifier,
        AnonymousPush(false),
        fixture("ws-authorizer-connect.json"),
    )
    .await
    .unwrap_err();
    assert!(matches!(foreign, AuthorizerError::Unauthorized));
    let missing = websocket::authorize(
        &verifier,
        AnonymousPush(false),
        authorizer_event_with_token(None),
    )
    .await
    .unwrap_err();
    let diagnostic = Diagnostic::from(missing);
    assert_eq!(
        (
            diagnostic.error_type.as_str(),
            diagnostic.error_message.as_str()
        ),
        ("Unauthorized", "Unauthorized"),
        "API Gateway answers 401 only to exactly this message"
    );
    let empty = websocket::authorize(
        &verifier,
        AnonymousPush(false),
        authorizer_event_with_token(Some("")),
    )
    .await
    .unwrap_err();
    assert!(matches!(empty, AuthorizerError::Unauthorized));
}

#[tokio::test]
async fn without_a_token_a_connection_is_anonymous_only_where_the_deployment_opts_in() {
    let dir = tempfile::tempdir().unwrap();
    let verifier = issuer(&dir).verifier();
    let allowed = websocket::authorize(
        &verifier,
        AnonymousPush(true),
        authorizer_event_with_token(None),
    )
    .await
    .unwrap();
    let allowed = policy_json(allowed);
    assert_eq!(allowed["context"], json!({"anonymous": "true"}));
    assert_eq!(
        allowed["policyDocument"]["Statement"][0]["Resource"],
        json!([METHOD_ARN])
    );
    let forged = websocket::authorize(
        &verifier,
        AnonymousPush(true),
        fixture("ws-authorizer-connect.json"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(forged, AuthorizerError::Unauthorized),
        "a token that does not verify is refused even where anonymous connections are allowed"
    );
}

#[tokio::test]
async fn connect_and_disconnect_are_answered_200() {
    let workflow = FakeWorkflow::default();
    let registry = MemoryPushRegistry::default();
    let channel = RecordingChannel::default();
    for name in ["ws-connect.json", "ws-disconnect.json"] {
        let status = route(parts(&workflow, &registry, &channel), fixture(name)).await;
        assert_eq!(status, 200, "{name}");
    }
    assert!(channel.posted.lock().unwrap().is_empty());
}

#[tokio::test]
async fn open_connection_registers_the_owners_connection_for_their_execution() {
    let workflow = FakeWorkflow::with_fixture_execution(ExecutionStatus::Running, None);
    let registry = MemoryPushRegistry::default();
    let channel = RecordingChannel::default();
    let status = route(
        parts(&workflow, &registry, &channel),
        fixture("ws-open-connection.json"),
    )
    .await;
    assert_eq!(status, 200);
    let connection = registry.connection(EXECUTION_ARN).await.unwrap().unwrap();
    assert_eq!(connection.connection_id, CONNECTION_ID);
    assert_eq!(connection.owner_sub, SUB);
    assert!(channel.posted.lock().unwrap().is_empty());
}

#[tokio::test]
async fn open_connection_after_the_file_is_ready_delivers_it_at_once() {
    let workflow = FakeWorkflow::with_fixture_execution(ExecutionStatus::Running, None);
    let registry = MemoryPushRegistry::default();
    let frame =
        json!({"reportURL": "https://sde-dev-exports.s3.amazonaws.com/x.csv?X-Amz-Signature=1"});
    let delivery = PendingDelivery {
        frame: frame.clone(),
        task_token: Some("token-1".into()),
    };
    registry
        .put_delivery(EXECUTION_ARN, &delivery)
        .await
        .unwrap();
    let channel = RecordingChannel::default();
    let status = route(
        parts(&workflow, &registry, &channel),
        fixture("ws-open-connection.json"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        *channel.posted.lock().unwrap(),
        [(CONNECTION_ID.to_owned(), frame)]
    );
    assert_eq!(workflow.completed_tasks.lock().unwrap()[0].0, "token-1");
}

#[tokio::test]
async fn open_connection_for_another_users_execution_is_refused_on_the_socket_too() {
    let workflow = FakeWorkflow::with_fixture_execution(ExecutionStatus::Running, None);
    let registry = MemoryPushRegistry::default();
    let channel = RecordingChannel::default();
    let mut event = fixture_json("ws-open-connection.json");
    event["requestContext"]["authorizer"]["sub"] = json!("someone-else");
    let status = route(
        parts(&workflow, &registry, &channel),
        serde_json::from_value(event).unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(registry.connection(EXECUTION_ARN).await.unwrap(), None);
    assert_eq!(
        *channel.posted.lock().unwrap(),
        [(
            CONNECTION_ID.to_owned(),
            json!({"error": "no such export", "executionArn": EXECUTION_ARN})
        )]
    );
}

#[tokio::test]
async fn open_connection_without_the_authorizers_context_is_a_401() {
    let workflow = FakeWorkflow::with_fixture_execution(ExecutionStatus::Running, None);
    let registry = MemoryPushRegistry::default();
    let channel = RecordingChannel::default();
    let mut event = fixture_json("ws-open-connection.json");
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let status = route(
        parts(&workflow, &registry, &channel),
        serde_json::from_value(event).unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(registry.connection(EXECUTION_ARN).await.unwrap(), None);
}

#[tokio::test]
async fn a_malformed_message_or_unknown_action_is_a_400_answered_on_the_socket() {
    let workflow = FakeWorkflow::default();
    let registry = MemoryPushRegistry::default();
    let channel = RecordingChannel::default();
    let mut event = fixture_json("ws-open-connection.json");
    event["body"] = json!("{\"action\":\"OpenConnection\"");
    let status = route(
        parts(&workflow, &registry, &channel),
        serde_json::from_value(event).unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    let posted = channel.posted.lock().unwrap().clone();
    assert_eq!(posted.len(), 1);
    assert!(
        posted[0].1["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON message"),
        "{posted:?}"
    );

    let mut event = fixture_json("ws-open-connection.json");
    event["requestContext"]["routeKey"] = json!("$default");
    event["body"] =
        json!(json!({"action": "Subscribe", "executionArn": EXECUTION_ARN}).to_string());
    let status = route(
        parts(&workflow, &registry, &channel),
        serde_json::from_value(event).unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    let posted = channel.posted.lock().unwrap().clone();
    assert_eq!(posted[1].1["executionArn"], EXECUTION_ARN);
}
