//! `statemachine/download-request.asl.json` executed by moto's Step Functions engine for each
//! delivery type, with its Lambda tasks answered by canned results, compared with what the local
//! interpreter (`sde_states::Engine`) does on the same input with stub handlers answering the
//! same results: the same final status, output, error and cause, and the same Lambda calls with
//! the same payloads in the same order.
//!
//! What moto 5.2.5 (execute mode, `lambda.use_docker = false`) runs, and how it is driven:
//! - Every export is planned first (`planExport`); the canned plans here keep the single run, so
//!   the fan-out's `Map` path is covered by sde-states' `download_request` tests and the local
//!   stack's `fan_out` tests, not against moto.
//! - The whole definition runs unchanged once `Fn::GetAtt` is replaced by function ARNs, as the
//!   Serverless plugin does: Choice with `Or`, `lambda:invoke` with `Payload.$` and
//!   `ResultSelector`, `ResultPath` (including `null`), Retry with `JitterStrategy`/`MaxDelaySeconds`
//!   (parsed; see below), Catch, `lambda:invoke.waitForTaskToken` (its token is read from the
//!   `TaskScheduled` event's parameters and answered with SendTaskSuccess), `$$.Execution.*` and
//!   `$$.Task.Token`, and Fail with `ErrorPath` and a `CausePath` of `States.Format(...)`. moto
//!   reports `cause` as well as `error` for failed executions.
//! - Lambda is moto's "simple" backend: every Invoke in a region, whatever the function (it need
//!   not even exist, so none is created), answers the next result queued with
//!   `POST /moto-api/static/lambda-simple/response` for that account and region. The queue is
//!   per region, so every test here uses a region of its own.
//! - That backend never reports a function error, except for a result over 6,000,000 bytes,
//!   which it turns into `Function.ResponseSizeTooLarge` with the Lambda error payload as cause.
//!   That is the one task failure moto can produce, so it stands for "generateCsv failed" here;
//!   the local stub fails with the same error and cause. Errors of our own (`Export.Transient`,
//!   …) and `Lambda.*` service errors cannot be produced, so the Retry paths (and therefore
//!   `JitterStrategy` and backoff) are not exercised against moto; sde-states' own
//!   `download_request` tests cover them. Task and execution timeouts are not compared either.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_sfn::types::{ExecutionStatus as SfnStatus, HistoryEventType};
use sde_core::ExecutionStatus;
use sde_states::{Engine, EngineOptions, StateMachine, TaskError, TaskRegistry};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ACCOUNT: &str = "123456789012";
const ROLE: &str = "arn:aws:iam::123456789012:role/sde";
const FUNCTIONS: [&str; 5] = [
    "planExport",
    "generateCsv",
    "composeExport",
    "emailLink",
    "pushResult",
];

/// `planExport`'s answer for a result within one slice's budget: the single run.
fn single_run() -> Canned {
    Canned::Returns(json!({"sliced": false, "snapshot": null, "total": 42, "slices": []}))
}

/// moto's error payload for a Lambda result over its size limit, which is the failure's cause.
const TOO_LARGE_CAUSE: &str = r#"{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}"#;

/// What one Lambda invocation answers, in order of invocation.
#[derive(Clone)]
enum Canned {
    Returns(Value),
    /// A result too large for Lambda: moto fails the task with `Function.ResponseSizeTooLarge`.
    TooLarge,
}

/// One Lambda invocation as the state machine made it.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    function: String,
    payload: Value,
}

/// How an execution ended, and the Lambda calls it made.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// The execution's name (the same in both engines).
    name: String,
    status: &'static str,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    calls: Vec<Call>,
}

fn definition_text() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../statemachine/download-request.asl.json"
    );
    std::fs::read_to_string(path).unwrap()
}

fn function_arn(region: &str, function: &str) -> String {
    format!("arn:aws:lambda:{region}:{ACCOUNT}:function:sde-{function}")
}

/// The definition with each `{"Fn::GetAtt": [name, "Arn"]}` replaced by that function's ARN.
fn resolved(value: Value, region: &str) -> Value {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(parts)) = map.get("Fn::GetAtt") {
                return Value::String(function_arn(region, parts[0].as_str().unwrap()));
            }
            Value::Object(
                map.into_iter()
                    .map(|(k, v)| (k, resolved(v, region)))
                    .collect(),
            )
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| resolved(v, region)).collect())
        }
        other => other,
    }
}

fn input(kind: &str) -> Value {
    json!({
        "type": kind,
        "searchCriteria": {"type": "posts", "results": 10, "page": 0, "search": [{"value": "cats"}]},
        "options": {"format": "csv"},
        "owner": {"sub": "user-1", "email": "one@example.com"},
        "exportId": "export-1"
    })
}

fn report() -> Value {
    json!({
        "key": "exports/export-1.csv",
        "reportURL": "https://files.example/export-1.csv?sig=1",
        "rows": 42, "bytes": 4200, "expiresAt": "2030-01-01T00:00:00Z", "extra": "dropped"
    })
}

/// The answer the push client's side gives to a waiting PushResult task.
fn delivered() -> Value {
    json!({"delivered": true})
}

/// The task token in a call's payload, replaced by a placeholder (tokens differ per engine).
fn without_token(mut call: Call) -> (Call, Option<String>) {
    let token = call
        .payload
        .get_mut("taskToken")
        .map(|t| std::mem::replace(t, json!("<task token>")));
    (call, token.and_then(|t| t.as_str().map(str::to_owned)))
}

/// Runs `input` in moto as execution `name` of a new state machine `machine` in `region`,
/// answering the Lambda calls with `canned`, and any waiting task with [`delivered`].
async fn run_in_moto(
    moto: &common::Moto,
    region: &str,
    machine: &str,
    name: &str,
    input: &Value,
    canned: &[Canned],
) -> Outcome {
    let sdk = sde_aws::sdk_config_for_endpoint(&moto.url, region, "testing", "testing").await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let definition = resolved(serde_json::from_str(&definition_text()).unwrap(), region);
    let state_machine_arn = sfn
        .create_state_machine()
        .name(machine)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned();

    let results: Vec<String> = canned
        .iter()
        .map(|c| match c {
            Canned::Returns(value) => value.to_string(),
            Canned::TooLarge => "x".repeat(6_000_001),
        })
        .collect();
    let queued = reqwest::Client::new()
        .post(format!(
            "{}/moto-api/static/lambda-simple/response",
            moto.url
        ))
        .json(&json!({"account_id": ACCOUNT, "region": region, "results": results}))
        .send()
        .await
        .unwrap();
    assert!(queued.status().is_success(), "{}", queued.status());

    let execution_arn = sfn
        .start_execution()
        .state_machine_arn(&state_machine_arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();

    let mut answered = Vec::new();
    for _ in 0..300 {
        let calls = moto_calls(&sfn, &execution_arn).await;
        for call in calls {
            if let (_, Some(token)) = without_token(call)
                && !answered.contains(&token)
            {
                // Scheduled may be seen just before moto starts waiting on the token; an
                // answer it refuses then is given again on the next round.
                let sent = sfn
                    .send_task_success()
                    .task_token(&token)
                    .output(delivered().to_string())
                    .send()
                    .await;
                if sent.is_ok() {
                    answered.push(token);
                }
            }
        }
        let described = sfn
            .describe_execution()
            .execution_arn(&execution_arn)
            .send()
            .await
            .unwrap();
        let status = match described.status() {
            SfnStatus::Running => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            SfnStatus::Succeeded => "SUCCEEDED",
            SfnStatus::Failed => "FAILED",
            other => panic!("unexpected status {other:?}"),
        };
        return Outcome {
            name: name.to_owned(),
            status,
            output: described.output().map(|o| serde_json::from_str(o).unwrap()),
            error: described.error().map(str::to_owned),
            cause: described.cause().map(str::to_owned),
            calls: moto_calls(&sfn, &execution_arn)
                .await
                .into_iter()
                .map(|c| without_token(c).0)
                .collect(),
        };
    }
    panic!("moto's execution {execution_arn} never finished");
}

/// The Lambda calls of a moto execution so far, from its `TaskScheduled` events.
async fn moto_calls(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> Vec<Call> {
    let history = sfn
        .get_execution_history()
        .execution_arn(execution_arn)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    history
        .events()
        .iter()
        .filter(|e| e.r#type() == &HistoryEventType::TaskScheduled)
        .map(|e| {
            let details = e.task_scheduled_event_details().unwrap();
            let parameters: Value = serde_json::from_str(details.parameters()).unwrap();
            let arn = parameters["FunctionName"].as_str().unwrap();
            Call {
                function: arn.rsplit_once(":function:sde-").unwrap().1.to_owned(),
                payload: parameters["Payload"].clone(),
            }
        })
        .collect()
}

/// Runs `input` in the local interpreter, named as in moto so that execution ARNs and names
/// agree, with stub handlers answering `canned` in call order and any waiting task with
/// [`delivered`].
async fn run_locally(
    region: &str,
    machine: &str,
    name: &str,
    input: &Value,
    canned: &[Canned],
) -> Outcome {
    let registry = TaskRegistry::new();
    let options = EngineOptions {
        region: region.to_owned(),
        account_id: ACCOUNT.to_owned(),
        state_machine_name: machine.to_owned(),
        time_scale: 0.001,
    };
    let engine = Engine::new(
        StateMachine::load(&definition_text()).unwrap(),
        registry.clone(),
        options,
    );
    let answers = Arc::new(Mutex::new(canned.iter().cloned().collect::<VecDeque<_>>()));
    let calls = Arc::new(Mutex::new(Vec::new()));
    for function in FUNCTIONS {
        let answers = answers.clone();
        let calls = calls.clone();
        let waiting_engine = engine.clone();
        registry.register_fn(function, move |_, payload: Value| {
            calls.lock().unwrap().push(Call {
                function: function.to_owned(),
                payload: payload.clone(),
            });
            let answer = answers.lock().unwrap().pop_front();
            let result = match answer.expect("a canned result for every Lambda call") {
                Canned::Returns(value) => Ok(value),
                Canned::TooLarge => Err(TaskError::new(
                    "Function.ResponseSizeTooLarge",
                    TOO_LARGE_CAUSE,
                )),
            };
            if let Some(token) = payload.get("taskToken").and_then(Value::as_str) {
                waiting_engine
                    .send_task_success(token, delivered())
                    .unwrap();
            }
            async move { result }
        });
    }
    assert!(engine.missing_handlers().is_empty());

    let arn = engine.start_execution(name, input.clone()).unwrap();
    let done = engine.wait(&arn).await.unwrap();
    let status = match done.status {
        ExecutionStatus::Succeeded => "SUCCEEDED",
        ExecutionStatus::Failed => "FAILED",
        other => panic!("unexpected status {other:?}"),
    };
    let calls = calls.lock().unwrap().clone();
    Outcome {
        name: done.name,
        status,
        output: done.output,
        error: done.error,
        cause: done.cause,
        calls: calls.into_iter().map(|c| without_token(c).0).collect(),
    }
}

/// Runs `input` in moto (in `region`) and locally with the same canned Lambda results, asserts
/// both end the same way, and returns that outcome.
async fn same_in_moto_and_locally(
    region: &str,
    input: Value,
    canned: &[Canned],
) -> Option<Outcome> {
    let moto = common::moto().await?;
    let machine = common::unique("download-request");
    let name = common::unique("export");
    let in_moto = run_in_moto(&moto, region, &machine, &name, &input, canned).await;
    let locally = run_locally(region, &machine, &name, &input, canned).await;
    assert_eq!(
        in_moto, locally,
        "moto (left) and the local interpreter (right) differ"
    );
    Some(in_moto)
}

/// The output every successful export has: its type and name, and the report selected from
/// generateCsv's answer.
fn ready_output(kind: &str, outcome: &Outcome) -> Value {
    json!({
        "type": kind,
        "exportId": outcome.name,
        "key": "exports/export-1.csv",
        "reportURL": "https://files.example/export-1.csv?sig=1",
        "rows": 42, "bytes": 4200, "expiresAt": "2030-01-01T00:00:00Z"
    })
}

#[tokio::test]
async fn a_direct_export_ends_the_same_in_moto_and_locally() {
    let Some(outcome) = same_in_moto_and_locally(
        "us-west-1",
        input("direct"),
        &[single_run(), Canned::Returns(report())],
    )
    .await
    else {
        return;
    };
    assert_eq!(outcome.status, "SUCCEEDED");
    assert_eq!(outcome.output, Some(ready_output("direct", &outcome)));
    let functions: Vec<&str> = outcome.calls.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(functions, ["planExport", "generateCsv"]);
    assert_eq!(outcome.calls[0].payload, input("direct"));
}

#[tokio::test]
async fn an_email_export_ends_the_same_in_moto_and_locally() {
    let canned = [
        single_run(),
        Canned::Returns(report()),
        Canned::Returns(json!({"messageId": "m-1"})),
    ];
    let Some(outcome) = same_in_moto_and_locally("us-west-2", input("email"), &canned).await else {
        return;
    };
    assert_eq!(outcome.status, "SUCCEEDED");
    assert_eq!(outcome.output, Some(ready_output("email", &outcome)));
    let functions: Vec<&str> = outcome.calls.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(functions, ["planExport", "generateCsv", "emailLink"]);
    let email = &outcome.calls[2].payload;
    assert_eq!(email["owner"]["email"], "one@example.com");
    assert_eq!(email["report"]["reportURL"], report()["reportURL"]);
    assert!(
        email["report"].get("extra").is_none(),
        "ResultSelector keeps five fields"
    );
}

#[tokio::test]
async fn a_push_export_waits_for_its_token_the_same_in_moto_and_locally() {
    let canned = [
        single_run(),
        Canned::Returns(report()),
        Canned::Returns(json!({"stored": true})),
    ];
    let Some(outcome) = same_in_moto_and_locally("eu-west-1", input("push"), &canned).await else {
        return;
    };
    assert_eq!(outcome.status, "SUCCEEDED");
    assert_eq!(outcome.output, Some(ready_output("push", &outcome)));
    let functions: Vec<&str> = outcome.calls.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(functions, ["planExport", "generateCsv", "pushResult"]);
    assert_eq!(outcome.calls[2].payload["taskToken"], "<task token>");
}

#[tokio::test]
async fn an_unknown_type_fails_the_same_in_moto_and_locally() {
    let Some(outcome) = same_in_moto_and_locally("eu-west-2", input("fax"), &[]).await else {
        return;
    };
    assert_eq!(outcome.status, "FAILED");
    assert_eq!(outcome.error.as_deref(), Some("Export.InvalidRequest"));
    assert_eq!(
        outcome.cause.as_deref(),
        Some("The export type must be one of direct, email or push.")
    );
    assert!(outcome.calls.is_empty());
}

/// The cause every export whose generateCsv failed ends with here.
fn failed_cause() -> String {
    format!("The export failed (Function.ResponseSizeTooLarge): {TOO_LARGE_CAUSE}")
}

#[tokio::test]
async fn a_failed_direct_export_fails_the_same_in_moto_and_locally() {
    let Some(outcome) = same_in_moto_and_locally(
        "eu-west-3",
        input("direct"),
        &[single_run(), Canned::TooLarge],
    )
    .await
    else {
        return;
    };
    assert_eq!(outcome.status, "FAILED");
    assert_eq!(
        outcome.error.as_deref(),
        Some("Function.ResponseSizeTooLarge")
    );
    assert_eq!(outcome.cause, Some(failed_cause()));
    assert_eq!(outcome.calls.len(), 2, "a function error is not retried");
}

#[tokio::test]
async fn a_failed_email_export_emails_the_failure_the_same_in_moto_and_locally() {
    let canned = [
        single_run(),
        Canned::TooLarge,
        Canned::Returns(json!({"messageId": "m-2"})),
    ];
    let Some(outcome) = same_in_moto_and_locally("eu-central-1", input("email"), &canned).await
    else {
        return;
    };
    assert_eq!(outcome.status, "FAILED");
    assert_eq!(outcome.cause, Some(failed_cause()));
    let functions: Vec<&str> = outcome.calls.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(functions, ["planExport", "generateCsv", "emailLink"]);
    assert_eq!(
        outcome.calls[2].payload["failure"],
        json!({"Error": "Function.ResponseSizeTooLarge", "Cause": TOO_LARGE_CAUSE})
    );
}

#[tokio::test]
async fn a_failed_push_export_pushes_the_error_the_same_in_moto_and_locally() {
    let canned = [single_run(), Canned::TooLarge, Canned::Returns(json!({}))];
    let Some(outcome) = same_in_moto_and_locally("ap-southeast-1", input("push"), &canned).await
    else {
        return;
    };
    assert_eq!(outcome.status, "FAILED");
    assert_eq!(outcome.cause, Some(failed_cause()));
    let functions: Vec<&str> = outcome.calls.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(functions, ["planExport", "generateCsv", "pushResult"]);
    assert_eq!(
        outcome.calls[2].payload["error"],
        json!({"Error": "Function.ResponseSizeTooLarge", "Cause": TOO_LARGE_CAUSE})
    );
    assert!(outcome.calls[2].payload.get("taskToken").is_none());
}
