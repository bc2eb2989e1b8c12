//! The push protocol between `push-result` and `push-open-connection`: whichever comes second
//! delivers, exactly once, and only to the execution's owner.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use chrono::Utc;
use sde_core::{
    DeliveryError, ExecutionDescription, ExecutionStatus, Owner, PendingDelivery, PostOutcome,
    PushChannel, PushConnection, PushRegistry, Workflow, WorkflowError, WorkflowErrorKind,
};
use sde_handlers::ExportOutput;
use sde_handlers::email_link::CaughtError;
use sde_handlers::push::{
    OpenConnection, PushResultInput, Subscriber, push_open_connection, push_result,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:download-request:e1";
/// A direct export of the same owner.
const DIRECT_ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:download-request:e2";

#[derive(Debug, Default)]
struct FakeWorkflow {
    open_tokens: Mutex<HashSet<String>>,
    completed: Mutex<Vec<Value>>,
}

#[async_trait]
impl Workflow for FakeWorkflow {
    fn execution_arn(&self, name: &str) -> String {
        format!("arn:aws:states:eu-west-1:1:execution:m:{name}")
    }
    async fn stop(&self, _: &str, _: &str, _: &str) -> Result<(), WorkflowError> {
        unreachable!("not used")
    }
    async fn list_started_since(
        &self,
        _: &str,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<sde_core::ExecutionSummary>, WorkflowError> {
        unreachable!("not used")
    }
    async fn start(&self, _: &str, _: Value) -> Result<String, WorkflowError> {
        unreachable!("not used")
    }

    async fn describe(&self, arn: &str) -> Result<ExecutionDescription, WorkflowError> {
        let delivery = match arn {
            ARN => "push",
            DIRECT_ARN => "direct",
            _ => {
                return Err(WorkflowError::new(
                    WorkflowErrorKind::NotFound,
                    "describing",
                ));
            }
        };
        Ok(ExecutionDescription {
            execution_arn: arn.into(),
            state_machine_arn:
                "arn:aws:states:us-east-1:123456789012:stateMachine:download-request".into(),
            name: "e1".into(),
            status: ExecutionStatus::Running,
            input: json!({"type": delivery, "owner": {"sub": "alice", "email": "alice@example.com"}}),
            output: None,
            error: None,
            cause: None,
            start_date: Utc::now(),
            stop_date: None,
        })
    }

    async fn send_task_success(&self, token: &str, output: Value) -> Result<(), WorkflowError> {
        // Like Step Functions: a token completes once; later calls fail.
        if self.open_tokens.lock().unwrap().remove(token) {
            self.completed.lock().unwrap().push(output);
            Ok(())
        } else {
            Err(WorkflowError::new(
                WorkflowErrorKind::TaskClosed,
                "completing",
            ))
        }
    }

    async fn send_task_failure(&self, _: &str, _: &str, _: &str) -> Result<(), WorkflowError> {
        Ok(())
    }
}

#[derive(Debug, Default)]
struct FakeRegistry {
    connections: Mutex<HashMap<String, PushConnection>>,
    deliveries: Mutex<HashMap<String, PendingDelivery>>,
}

#[async_trait]
impl PushRegistry for FakeRegistry {
    async fn put_connection(&self, arn: &str, c: &PushConnection) -> Result<(), DeliveryError> {
        self.connections
            .lock()
            .unwrap()
            .insert(arn.into(), c.clone());
        tokio::task::yield_now().await;
        Ok(())
    }
    async fn connection(&self, arn: &str) -> Result<Option<PushConnection>, DeliveryError> {
        Ok(self.connections.lock().unwrap().get(arn).cloned())
    }
    async fn put_delivery(&self, arn: &str, d: &PendingDelivery) -> Result<(), DeliveryError> {
        self.deliveries
            .lock()
            .unwrap()
            .insert(arn.into(), d.clone());
        tokio::task::yield_now().await;
        Ok(())
    }
    async fn delivery(&self, arn: &str) -> Result<Option<PendingDelivery>, DeliveryError> {
        Ok(self.deliveries.lock().unwrap().get(arn).cloned())
    }
}

#[derive(Debug, Default)]
struct FakeChannel {
    posted: Mutex<Vec<(String, Value)>>,
}

#[async_trait]
impl PushChannel for FakeChannel {
    async fn post(&self, connection_id: &str, frame: &Value) -> Result<PostOutcome, DeliveryError> {
        self.posted
            .lock()
            .unwrap()
            .push((connection_id.into(), frame.clone()));
        Ok(PostOutcome::Delivered)
    }
}

fn alice() -> Subscriber {
    Subscriber::Owner(Owner {
        sub: "alice".into(),
        email: "alice@example.com".into(),
    })
}

fn result_input() -> PushResultInput {
    PushResultInput {
        execution_arn: ARN.into(),
        task_token: Some("token-1".into()),
        report: Some(ExportOutput {
            key: "exports/alice/e1.csv".into(),
            report_url: "https://files/e1".into(),
            rows: 3,
            bytes: 10,
            expires_at: Utc::now(),
        }),
        failure: None,
    }
}

fn open() -> OpenConnection {
    OpenConnection {
        execution_arn: ARN.into(),
        task_token: None,
        progress: false,
    }
}

fn parts() -> (FakeWorkflow, FakeRegistry, FakeChannel) {
    let workflow = FakeWorkflow::default();
    workflow
        .open_tokens
        .lock()
        .unwrap()
        .insert("token-1".into());
    (workflow, FakeRegistry::default(), FakeChannel::default())
}

#[tokio::test]
async fn a_client_that_connects_after_the_result_receives_it_once() {
    let (workflow, registry, channel) = parts();
    let outcome = push_result(&registry, &channel, &workflow, &result_input())
        .await
        .unwrap();
    assert!(!outcome.delivered, "nobody is connected yet");
    push_open_connection(&workflow, &registry, &channel, &alice(), "c1", &open())
        .await
        .unwrap();
    assert_eq!(
        *channel.posted.lock().unwrap(),
        [(
            "c1".to_owned(),
            json!({"reportURL": "https://files/e1", "data": {"reportURL": "https://files/e1"}})
        )]
    );
    assert_eq!(
        workflow.completed.lock().unwrap().len(),
        1,
        "the waiting step completes"
    );
}

#[tokio::test]
async fn a_client_that_connected_before_the_result_receives_it_once() {
    let (workflow, registry, channel) = parts();
    push_open_connection(&workflow, &registry, &channel, &alice(), "c1", &open())
        .await
        .unwrap();
    assert!(channel.posted.lock().unwrap().is_empty());
    let outcome = push_result(&registry, &channel, &workflow, &result_input())
        .await
        .unwrap();
    assert!(outcome.delivered);
    assert_eq!(channel.posted.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_result_and_a_client_arriving_together_deliver_exactly_once() {
    for _ in 0..200 {
        let (workflow, registry, channel) = parts();
        let owner = alice();
        let input = result_input();
        let message = open();
        let (result, opened) = tokio::join!(
            push_result(&registry, &channel, &workflow, &input),
            push_open_connection(&workflow, &registry, &channel, &owner, "c1", &message),
        );
        result.unwrap();
        opened.unwrap();
        assert_eq!(channel.posted.lock().unwrap().len(), 1, "exactly one frame");
        assert_eq!(workflow.completed.lock().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn another_user_cannot_attach_to_an_execution() {
    let (workflow, registry, channel) = parts();
    push_result(&registry, &channel, &workflow, &result_input())
        .await
        .unwrap();
    let mallory = Subscriber::Owner(Owner {
        sub: "mallory".into(),
        email: "m@example.com".into(),
    });
    let error = push_open_connection(&workflow, &registry, &channel, &mallory, "c9", &open())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 404);
    assert!(channel.posted.lock().unwrap().is_empty());
    assert!(
        registry.connections.lock().unwrap().is_empty(),
        "nothing was registered for mallory"
    );
}

#[tokio::test]
async fn a_failure_reaches_a_client_that_connects_later_as_an_error_frame() {
    let (workflow, registry, channel) = parts();
    let failure = PushResultInput {
        task_token: None,
        report: None,
        failure: Some(CaughtError {
            error: "Export.Failed".into(),
            cause: r#"{"errorType":"Export.Failed","errorMessage":"disk full"}"#.into(),
        }),
        ..result_input()
    };
    push_result(&registry, &channel, &workflow, &failure)
        .await
        .unwrap();
    push_open_connection(&workflow, &registry, &channel, &alice(), "c1", &open())
        .await
        .unwrap();
    assert_eq!(
        *channel.posted.lock().unwrap(),
        [(
            "c1".to_owned(),
            json!({"error": sde_handlers::task_failure::reason("Export.Failed"), "executionArn": ARN})
        )]
    );
}

#[tokio::test]
async fn a_connection_without_a_token_may_follow_a_push_export_named_by_its_arn() {
    let (workflow, registry, channel) = parts();
    push_open_connection(
        &workflow,
        &registry,
        &channel,
        &Subscriber::Anonymous,
        "c2",
        &open(),
    )
    .await
    .unwrap();
    assert_eq!(
        registry.connections.lock().unwrap()[ARN].owner_sub,
        "alice",
        "the connection is recorded for the export's owner"
    );
    push_result(&registry, &channel, &workflow, &result_input())
        .await
        .unwrap();
    assert_eq!(channel.posted.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_connection_without_a_token_may_not_follow_any_other_execution() {
    let (workflow, registry, channel) = parts();
    for arn in [
        DIRECT_ARN,
        "arn:aws:states:us-east-1:123456789012:execution:download-request:nope",
    ] {
        let message = OpenConnection {
            execution_arn: arn.into(),
            ..open()
        };
        let error = push_open_connection(
            &workflow,
            &registry,
            &channel,
            &Subscriber::Anonymous,
            "c3",
            &message,
        )
        .await
        .unwrap_err();
        assert_eq!(error.status(), 404, "{arn}");
    }
    assert!(registry.connections.lock().unwrap().is_empty());
}
