//! Acceptance tests: `statemachine/download-request.asl.json`, run with stub handlers, for each
//! delivery type, for failures after the configured retries, and for the push correlation
//! (client connecting before or after the file is ready; many concurrent pushes).

// Test helpers panic on broken fixtures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sde_states::{Engine, EngineOptions, ExecutionStatus, StateMachine, TaskError, TaskRegistry};
use serde_json::{Value, json};
use tokio::sync::mpsc;

fn definition() -> StateMachine {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../statemachine/download-request.asl.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    StateMachine::load(&text).unwrap()
}

fn input(kind: &str, name: &str) -> Value {
    json!({
        "type": kind,
        "searchCriteria": {"type": "posts", "results": 10, "page": 0, "search": [{"value": "cats"}]},
        "options": {"format": "csv"},
        "owner": {"sub": format!("user-{name}"), "email": format!("{name}@example.com")},
        "exportId": name
    })
}

fn report_for(exec_name: &str) -> Value {
    json!({
        "key": format!("exports/{exec_name}.csv"),
        "reportURL": format!("https://files.example/{exec_name}.csv?sig=1"),
        "rows": 42, "bytes": 4200, "expiresAt": "2030-01-01T00:00:00Z", "extra": "dropped"
    })
}

/// The push connection store, modelled on the intended design: one record per execution ARN
/// holding the client's connection (if connected) and the result + task token (if ready).
/// Whichever side arrives second delivers and calls SendTaskSuccess.
#[derive(Default)]
struct PushHub {
    engine: OnceLock<Engine>,
    records: Mutex<HashMap<String, Record>>,
}

#[derive(Default)]
struct Record {
    connection: Option<mpsc::UnboundedSender<Value>>,
    ready: Option<(String, String)>,
    error: Option<Value>,
}

impl PushHub {
    fn engine(&self) -> &Engine {
        self.engine.get().unwrap()
    }

    /// The pushResult handler: a result (with token) or an `error` frame for one execution.
    fn push_result(&self, payload: &Value) -> Result<Value, TaskError> {
        let arn = payload["executionArn"].as_str().unwrap().to_owned();
        let mut records = self.records.lock().unwrap();
        let record = records.entry(arn.clone()).or_default();
        if let Some(failure) = payload.get("error") {
            // An error supersedes a stored result whose token has expired.
            record.ready = None;
            let frame = json!({"error": failure["Cause"], "executionArn": arn});
            match &record.connection {
                Some(conn) => conn.send(frame).unwrap(),
                None => record.error = Some(frame),
            }
            return Ok(json!({}));
        }
        let token = payload["taskToken"].as_str().unwrap().to_owned();
        let url = payload["report"]["reportURL"].as_str().unwrap().to_owned();
        match &record.connection {
            Some(conn) => {
                conn.send(json!({"reportURL": url})).unwrap();
                self.engine()
                    .send_task_success(&token, json!({"delivered": "on-result"}))
                    .unwrap();
            }
            None => record.ready = Some((token, url)),
        }
        Ok(json!({"stored": true}))
    }

    /// The pushOpenConnection handler: the client's OpenConnection for one execution.
    fn open_connection(&self, arn: &str) -> mpsc::UnboundedReceiver<Value> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut records = self.records.lock().unwrap();
        let record = records.entry(arn.to_owned()).or_default();
        if let Some((token, url)) = record.ready.take() {
            tx.send(json!({"reportURL": url})).unwrap();
            self.engine()
                .send_task_success(&token, json!({"delivered": "on-connect"}))
                .unwrap();
        }
        if let Some(frame) = record.error.take() {
            tx.send(frame).unwrap();
        }
        record.connection = Some(tx);
        rx
    }
}

struct Stack {
    engine: Engine,
    hub: Arc<PushHub>,
    generate_calls: Arc<Mutex<Vec<Value>>>,
    compose_calls: Arc<Mutex<Vec<Value>>>,
    emails: Arc<Mutex<Vec<Value>>>,
    push_calls: Arc<Mutex<Vec<Value>>>,
}

/// Builds the engine with stub handlers; `generate` answers per attempt number (1-based).
fn stack<G>(generate: G) -> Stack
where
    G: Fn(usize, &Value) -> Result<Value, TaskError> + Send + Sync + 'static,
{
    let registry = TaskRegistry::new();
    let options = EngineOptions {
        time_scale: 0.001,
        ..EngineOptions::default()
    };
    let engine = Engine::new(definition(), registry.clone(), options);
    let hub = Arc::new(PushHub::default());
    hub.engine.set(engine.clone()).ok();

    let generate_calls = Arc::new(Mutex::new(Vec::new()));
    let calls = generate_calls.clone();
    let generate = Arc::new(generate);
    registry.register_fn("generateCsv", move |ctx, payload| {
        let calls = calls.clone();
        let generate = generate.clone();
        async move {
            // Attempts are counted per export, and per slice of a fanned-out export.
            let run_of = |p: &Value| {
                (
                    p.get("export").unwrap_or(p)["exportId"].clone(),
                    p.get("slice").cloned(),
                )
            };
            let attempt = {
                let mut c = calls.lock().unwrap();
                c.push(payload.clone());
                c.iter().filter(|p| run_of(p) == run_of(&payload)).count()
            };
            tokio::time::sleep(Duration::from_millis(5)).await;
            generate(attempt, &payload).map(|_| report_for(&ctx.execution_name))
        }
    });
    registry.register_fn("planExport", move |_, payload| async move {
        Ok(plan_for(payload["exportId"].as_str().unwrap()))
    });
    let compose_calls = Arc::new(Mutex::new(Vec::new()));
    let composed = compose_calls.clone();
    registry.register_fn("composeExport", move |ctx, payload| {
        composed.lock().unwrap().push(payload.clone());
        async move {
            if payload.get("parts").is_some() {
                Ok(report_for(&ctx.execution_name))
            } else {
                Ok(Value::Null)
            }
        }
    });
    let emails = Arc::new(Mutex::new(Vec::new()));
    let sent = emails.clone();
    registry.register_fn("emailLink", move |_, payload| {
        let sent = sent.clone();
        async move {
            sent.lock().unwrap().push(payload);
            Ok(json!({"messageId": "m-1"}))
        }
    });
    let push_calls = Arc::new(Mutex::new(Vec::new()));
    let seen = push_calls.clone();
    let push_hub = hub.clone();
    registry.register_fn("pushResult", move |_, payload| {
        seen.lock().unwrap().push(payload.clone());
        let result = push_hub.push_result(&payload);
        async move { result }
    });
    assert!(
        engine.missing_handlers().is_empty(),
        "{:?}",
        engine.missing_handlers()
    );
    Stack {
        engine,
        hub,
        generate_calls,
        compose_calls,
        emails,
        push_calls,
    }
}

/// The plan the stub `planExport` makes: exports named `sliced-…` fan out over three slices,
/// the others run once.
fn plan_for(name: &str) -> Value {
    if name.starts_with("sliced-") {
        let slices: Vec<Value> = (0..3).map(|i| json!({"index": i, "count": 3})).collect();
        json!({"sliced": true, "snapshot": "snap-1", "total": 42, "slices": slices})
    } else {
        json!({"sliced": false, "snapshot": null, "total": 42, "slices": []})
    }
}

/// The state an execution of `input` carries after planning.
fn planned(input: Value) -> Value {
    let mut state = input;
    let plan = plan_for(state["exportId"].as_str().unwrap());
    state["plan"] = plan;
    state
}

fn always_ok() -> impl Fn(usize, &Value) -> Result<Value, TaskError> + Send + Sync + 'static {
    |_, _| Ok(json!({}))
}

fn expected_output(kind: &str, name: &str) -> Value {
    json!({
        "type": kind, "exportId": name,
        "key": format!("exports/{name}.csv"),
        "reportURL": format!("https://files.example/{name}.csv?sig=1"),
        "rows": 42, "bytes": 4200, "expiresAt": "2030-01-01T00:00:00Z"
    })
}

#[test]
fn the_definition_references_exactly_the_designed_functions() {
    let names: Vec<String> = definition().function_names().into_iter().collect();
    assert_eq!(
        names,
        vec![
            "composeExport",
            "emailLink",
            "generateCsv",
            "planExport",
            "pushResult"
        ]
    );
}

#[tokio::test]
async fn a_direct_export_succeeds_with_the_report_as_output() {
    let s = stack(always_ok());
    let arn = s
        .engine
        .start_execution("d1", input("direct", "d1"))
        .unwrap();
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    assert_eq!(out.output, Some(expected_output("direct", "d1")));
    // generateCsv gets the whole execution input (and the plan) as its payload.
    assert_eq!(
        s.generate_calls.lock().unwrap()[0],
        planned(input("direct", "d1"))
    );
    assert!(
        s.compose_calls.lock().unwrap().is_empty(),
        "a small export runs once"
    );
    assert!(s.emails.lock().unwrap().is_empty() && s.push_calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_email_export_succeeds_after_emailing_the_link_to_the_owner() {
    let s = stack(always_ok());
    let arn = s
        .engine
        .start_execution("e1", input("email", "e1"))
        .unwrap();
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    assert_eq!(out.output, Some(expected_output("email", "e1")));
    let emails = s.emails.lock().unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["owner"]["email"], json!("e1@example.com"));
    assert_eq!(
        emails[0]["report"]["reportURL"],
        json!("https://files.example/e1.csv?sig=1")
    );
    assert_eq!(emails[0]["executionArn"], json!(arn));
}

#[tokio::test]
async fn a_transient_generate_failure_is_retried_and_then_succeeds() {
    let s = stack(|attempt, _| {
        if attempt < 3 {
            Err(TaskError::new("Export.Transient", "index unavailable"))
        } else {
            Ok(json!({}))
        }
    });
    let arn = s
        .engine
        .start_execution("t1", input("direct", "t1"))
        .unwrap();
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    assert_eq!(s.generate_calls.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_permanent_generate_failure_in_a_direct_export_fails_with_a_readable_cause_without_retrying()
 {
    let s = stack(|_, _| {
        Err(TaskError::new(
            "Export.RowCountMismatch",
            "wrote 41 rows but the index has 42",
        ))
    });
    let arn = s
        .engine
        .start_execution("p1", input("direct", "p1"))
        .unwrap();
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("Export.RowCountMismatch"));
    assert_eq!(
        out.cause.as_deref(),
        Some("The export failed (Export.RowCountMismatch): wrote 41 rows but the index has 42")
    );
    assert_eq!(
        s.generate_calls.lock().unwrap().len(),
        1,
        "permanent errors are not retried"
    );
}

#[tokio::test]
async fn an_email_export_that_keeps_failing_is_retried_then_emails_the_failure_and_fails() {
    let s = stack(|_, _| Err(TaskError::new("Export.Transient", "index unavailable")));
    let arn = s
        .engine
        .start_execution("f1", input("email", "f1"))
        .unwrap();
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("Export.Transient"));
    assert_eq!(
        out.cause.as_deref(),
        Some("The export failed (Export.Transient): index unavailable")
    );
    // One attempt plus MaxAttempts (3) retries.
    assert_eq!(s.generate_calls.lock().unwrap().len(), 4);
    let emails = s.emails.lock().unwrap();
    assert_eq!(emails.len(), 1, "the failure email was sent");
    assert_eq!(
        emails[0]["failure"],
        json!({"Error": "Export.Transient", "Cause": "index unavailable"})
    );
    assert!(emails[0].get("report").is_none());
    let states: Vec<String> = s
        .engine
        .history(&arn)
        .unwrap()
        .into_iter()
        .filter_map(|h| h.state)
        .collect();
    assert!(
        states.contains(&"EmailFailure".to_owned()) && states.contains(&"ExportFailed".to_owned())
    );
}

#[tokio::test]
async fn an_unknown_type_fails_before_any_work() {
    let s = stack(always_ok());
    let mut bad = input("fax", "u1");
    let arn = s.engine.start_execution("u1", bad.take()).unwrap();
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.error.as_deref(), Some("Export.InvalidRequest"));
    assert!(s.generate_calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn push_delivers_when_the_client_connects_after_the_file_is_ready() {
    let s = stack(always_ok());
    let arn = s
        .engine
        .start_execution("late", input("push", "late"))
        .unwrap();
    // Wait until pushResult has stored the result: the execution now waits for its token.
    while s.push_calls.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(
        s.engine.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Running
    );
    let mut conn = s.hub.open_connection(&arn);
    assert_eq!(
        conn.recv().await,
        Some(json!({"reportURL": "https://files.example/late.csv?sig=1"}))
    );
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    assert_eq!(out.output, Some(expected_output("push", "late")));
    let payload = &s.push_calls.lock().unwrap()[0];
    assert_eq!(payload["executionArn"], json!(arn));
    assert!(payload["taskToken"].is_string());
}

#[tokio::test]
async fn push_delivers_when_the_client_connects_before_the_file_is_ready() {
    let s = stack(always_ok());
    let arn = s
        .engine
        .start_execution("early", input("push", "early"))
        .unwrap();
    let mut conn = s.hub.open_connection(&arn);
    assert_eq!(
        conn.recv().await,
        Some(json!({"reportURL": "https://files.example/early.csv?sig=1"}))
    );
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    assert_eq!(out.output, Some(expected_output("push", "early")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_push_executions_each_deliver_to_their_own_connection() {
    let s = Arc::new(stack(always_ok()));
    let mut clients = Vec::new();
    for i in 0..50 {
        let name = format!("push-{i}");
        let arn = s
            .engine
            .start_execution(&name, input("push", &name))
            .unwrap();
        let s = s.clone();
        clients.push(tokio::spawn(async move {
            // Half connect at once, half after a while (mostly after their file is ready).
            if i % 2 == 1 {
                tokio::time::sleep(Duration::from_millis(20 + (i as u64 % 7) * 5)).await;
            }
            let mut conn = s.hub.open_connection(&arn);
            let frame = conn.recv().await.unwrap();
            let out = s.engine.wait(&arn).await.unwrap();
            (name, frame, out)
        }));
    }
    for client in clients {
        let (name, frame, out) = client.await.unwrap();
        assert_eq!(
            frame,
            json!({"reportURL": format!("https://files.example/{name}.csv?sig=1")}),
            "{name}"
        );
        assert_eq!(out.status, ExecutionStatus::Succeeded, "{name}");
        assert_eq!(
            out.output.unwrap()["reportURL"],
            json!(format!("https://files.example/{name}.csv?sig=1"))
        );
    }
}

#[tokio::test]
async fn a_failed_push_export_sends_an_error_frame_and_fails() {
    let s = stack(|_, _| {
        Err(TaskError::new(
            "Export.InvalidRequest",
            "the date range is reversed",
        ))
    });
    let arn = s.engine.start_execution("pf", input("push", "pf")).unwrap();
    let mut conn = s.hub.open_connection(&arn);
    let frame = conn.recv().await.unwrap();
    assert_eq!(
        frame,
        json!({"error": "the date range is reversed", "executionArn": arn})
    );
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("Export.InvalidRequest"));
}

#[tokio::test]
async fn a_push_client_that_never_connects_times_out_and_the_error_waits_for_it() {
    // PushResult's TimeoutSeconds (900 s, scaled ×0.001 here) bounds the wait for the client.
    let s = stack(always_ok());
    let arn = s
        .engine
        .start_execution("gone", input("push", "gone"))
        .unwrap();
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("States.Timeout"));
    assert!(
        out.cause
            .unwrap()
            .starts_with("The export failed (States.Timeout): ")
    );
    // A client arriving late gets the error frame rather than nothing.
    let mut conn = s.hub.open_connection(&arn);
    assert_eq!(conn.recv().await.unwrap()["executionArn"], json!(arn));
}

#[test]
fn the_definition_passes_asl_validator() {
    // tests/asl/validate.sh installs the pinned asl-validator under .tools/node (once) and validates
    // statemachine/*.asl.json after resolving Fn::GetAtt to ARNs as the Serverless plugin does.
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: node is not installed");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/asl/validate.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "asl-validator failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_large_export_fans_out_one_run_per_slice_and_is_composed_in_slice_order() {
    let s = stack(always_ok());
    let name = "sliced-1";
    let arn = s
        .engine
        .start_execution(name, input("email", name))
        .unwrap();
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Succeeded, "{out:?}");
    assert_eq!(out.output, Some(expected_output("email", name)));
    let calls = s.generate_calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    let mut slices: Vec<Value> = calls.iter().map(|c| c["slice"].clone()).collect();
    slices.sort_by_key(|slice| slice["index"].as_u64());
    assert_eq!(
        slices,
        (0..3)
            .map(|i| json!({"index": i, "count": 3}))
            .collect::<Vec<_>>()
    );
    for call in &calls {
        assert_eq!(call["snapshot"], json!("snap-1"));
        assert_eq!(call["export"], planned(input("email", name)));
    }
    let composed = s.compose_calls.lock().unwrap().clone();
    assert_eq!(composed.len(), 1);
    let parts = composed[0]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    assert!(
        parts
            .iter()
            .all(|p| p.get("key").is_some() && p.get("reportURL").is_none())
    );
    assert_eq!(composed[0]["plan"], plan_for(name));
    assert_eq!(
        s.emails.lock().unwrap().len(),
        1,
        "the link is emailed once"
    );
}

#[tokio::test]
async fn a_transient_slice_failure_retries_that_slice_alone() {
    let s = stack(|attempt, payload| {
        if payload["slice"]["index"] == json!(1) && attempt < 2 {
            Err(TaskError::new("Export.Transient", "index unavailable"))
        } else {
            Ok(json!({}))
        }
    });
    let arn = s
        .engine
        .start_execution("sliced-2", input("direct", "sliced-2"))
        .unwrap();
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Succeeded, "{out:?}");
    let calls = s.generate_calls.lock().unwrap().clone();
    let runs_of = |i: u64| {
        calls
            .iter()
            .filter(|c| c["slice"]["index"] == json!(i))
            .count()
    };
    assert_eq!((runs_of(0), runs_of(1), runs_of(2)), (1, 2, 1));
}

#[tokio::test]
async fn a_slice_failing_for_good_fails_the_export_discards_the_slices_and_tells_the_owner() {
    let s = stack(|_, payload| {
        if payload["slice"]["index"] == json!(2) {
            Err(TaskError::new("Export.Failed", "the disk is full"))
        } else {
            Ok(json!({}))
        }
    });
    let arn = s
        .engine
        .start_execution("sliced-3", input("email", "sliced-3"))
        .unwrap();
    let out = s.engine.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("Export.Failed"));
    assert!(out.cause.unwrap().contains("the disk is full"));
    let composed = s.compose_calls.lock().unwrap().clone();
    assert_eq!(composed.len(), 1, "one discard, no composition");
    assert!(composed[0].get("parts").is_none());
    assert_eq!(composed[0]["plan"], plan_for("sliced-3"));
    let emails = s.emails.lock().unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["failure"]["Error"], json!("Export.Failed"));
}
