//! Execution lifecycle: ARNs and names, describe, stop, execution timeout, concurrency.

// Test helpers panic on broken fixtures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{FN_ARN, engine};
use sde_states::{EngineError, ExecutionStatus, HistoryEventType, TaskRegistry};
use serde_json::json;

fn waiting_definition(seconds: u64) -> serde_json::Value {
    json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "Next": "Done"}, "Done": {"Type": "Succeed"}}})
}

#[tokio::test]
async fn executions_have_arn_shaped_ids_and_unique_valid_names() {
    // StartExecution: ExecutionAlreadyExists for a reused name; names may not contain whitespace or
    // characters such as < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /.
    let e = engine(waiting_definition(0), &TaskRegistry::new());
    let arn = e.start_execution("export-1", json!({})).unwrap();
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:123456789012:execution:download-request:export-1"
    );
    assert!(matches!(
        e.start_execution("export-1", json!({})),
        Err(EngineError::ExecutionAlreadyExists(_))
    ));
    for bad in ["", "has space", "a/b", "x:y", &"n".repeat(81)] {
        assert!(
            matches!(
                e.start_execution(bad, json!({})),
                Err(EngineError::InvalidName(_))
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        e.describe_execution("arn:nope"),
        Err(EngineError::ExecutionDoesNotExist(_))
    ));
}

#[tokio::test]
async fn describe_execution_is_shaped_like_the_step_functions_response() {
    let e = engine(waiting_definition(0), &TaskRegistry::new());
    let arn = e.start_execution("shape", json!({"a": 1})).unwrap();
    let done = e.wait(&arn).await.unwrap();
    let v = serde_json::to_value(&done).unwrap();
    assert_eq!(v["executionArn"], json!(arn));
    assert_eq!(
        v["stateMachineArn"],
        json!("arn:aws:states:us-east-1:123456789012:stateMachine:download-request")
    );
    assert_eq!(v["name"], json!("shape"));
    assert_eq!(v["status"], json!("SUCCEEDED"));
    // DescribeExecution returns input and output as JSON text.
    assert_eq!(v["input"], json!("{\"a\":1}"));
    assert_eq!(v["output"], json!("{\"a\":1}"));
    assert!(v["startDate"].is_string() && v["stopDate"].is_string());
    assert!(v.get("error").is_none());
    let back: sde_states::ExecutionDescription = serde_json::from_value(v).unwrap();
    assert_eq!(back, done);
    let kinds: Vec<HistoryEventType> = e.history(&arn).unwrap().iter().map(|h| h.kind).collect();
    assert_eq!(kinds.first(), Some(&HistoryEventType::ExecutionStarted));
    assert_eq!(kinds.last(), Some(&HistoryEventType::ExecutionSucceeded));
}

#[tokio::test]
async fn finished_executions_are_forgotten_after_a_cutoff_and_running_ones_never() {
    let e = engine(waiting_definition(3600), &TaskRegistry::new());
    let running = e.start_execution("running", json!({})).unwrap();
    let quick = engine(waiting_definition(0), &TaskRegistry::new());
    let done = quick.start_execution("done", json!({})).unwrap();
    let finished = quick.wait(&done).await.unwrap();
    let stopped_at = finished.stop_date.unwrap();

    assert!(
        quick.forget_finished(stopped_at).is_empty(),
        "the cutoff is exclusive"
    );
    assert!(quick.describe_execution(&done).is_ok());
    let forgotten = quick.forget_finished(stopped_at + chrono::Duration::milliseconds(1));
    assert_eq!(forgotten, [finished]);
    assert!(matches!(
        quick.describe_execution(&done),
        Err(EngineError::ExecutionDoesNotExist(_))
    ));
    assert!(quick.history(&done).is_err(), "its history goes with it");
    assert!(quick.list_executions().is_empty());

    let far_future = chrono::Utc::now() + chrono::Duration::days(365);
    assert!(e.forget_finished(far_future).is_empty());
    assert_eq!(
        e.describe_execution(&running).unwrap().status,
        ExecutionStatus::Running
    );
}

#[tokio::test]
async fn stop_execution_aborts_a_running_execution_and_invalidates_its_task_tokens() {
    // StopExecution: status ABORTED with the given error and cause.
    let r = TaskRegistry::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    r.register_fn("hold", move |ctx, _| {
        let tx = tx.clone();
        async move {
            tx.send(ctx.task_token.unwrap()).unwrap();
            Ok(json!({}))
        }
    });
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "End": true,
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": format!("{FN_ARN}hold"), "Payload": {"t.$": "$$.Task.Token"}}}}});
    let e = engine(def, &r);
    let arn = e.start_execution("stop-me", json!({})).unwrap();
    let token = rx.recv().await.unwrap();
    assert_eq!(
        e.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Running
    );
    e.stop_execution(&arn, Some("User.Cancelled"), Some("the user cancelled"))
        .unwrap();
    let out = e.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Aborted);
    assert_eq!(
        (out.error.as_deref(), out.cause.as_deref()),
        (Some("User.Cancelled"), Some("the user cancelled"))
    );
    assert!(out.stop_date.is_some());
    tokio::task::yield_now().await;
    assert!(matches!(
        e.send_task_success(&token, json!({})),
        Err(EngineError::TaskDoesNotExist(_))
    ));
    // Stopping again changes nothing.
    e.stop_execution(&arn, None, None).unwrap();
    assert_eq!(
        e.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Aborted
    );
}

#[tokio::test(start_paused = true)]
async fn an_execution_longer_than_the_machine_timeout_seconds_is_timed_out() {
    // State machine TimeoutSeconds: "If the execution runs longer than the specified seconds, the execution
    // fails with a States.Timeout error" and status TIMED_OUT.
    let mut def = waiting_definition(100);
    def["TimeoutSeconds"] = json!(10);
    let e = engine(def, &TaskRegistry::new());
    let arn = e.start_execution("slow", json!({})).unwrap();
    let out = e.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::TimedOut);
    assert_eq!(out.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test]
async fn a_slow_execution_never_blocks_another() {
    let r = TaskRegistry::new();
    r.register_fn("slow", |_, _| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(json!({}))
    });
    r.register_fn("fast", |_, input| async move { Ok(input) });
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.slow", "BooleanEquals": true, "Next": "Slow"}], "Default": "Fast"},
        "Slow": {"Type": "Task", "Resource": format!("{FN_ARN}slow"), "End": true},
        "Fast": {"Type": "Task", "Resource": format!("{FN_ARN}fast"), "End": true}}});
    let e = engine(def, &r);
    let slow = e.start_execution("slow", json!({"slow": true})).unwrap();
    let fast: Vec<String> = (0..20)
        .map(|i| {
            e.start_execution(&format!("fast-{i}"), json!({"slow": false, "i": i}))
                .unwrap()
        })
        .collect();
    let finished = tokio::time::timeout(Duration::from_secs(5), async {
        for arn in &fast {
            assert_eq!(
                e.wait(arn).await.unwrap().status,
                ExecutionStatus::Succeeded
            );
        }
    })
    .await;
    assert!(finished.is_ok(), "fast executions were blocked");
    assert_eq!(
        e.describe_execution(&slow).unwrap().status,
        ExecutionStatus::Running
    );
    assert_eq!(e.list_executions().len(), 21);
    e.stop_execution(&slow, None, None).unwrap();
}

#[test]
fn starting_an_execution_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let e = engine(waiting_definition(0), &TaskRegistry::new());
    assert!(matches!(
        e.start_execution("x", json!({})),
        Err(EngineError::NoRuntime)
    ));
}
