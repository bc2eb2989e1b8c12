//! The REST functions driven with the API Gateway proxy events recorded under
//! `tests/fixtures/apigw/`: what the frontend gets back, CORS included.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sde_core::{ExecutionStatus, ExportProgress, ProgressBoard};
use sde_handlers::download_request::ExportLimits;
use sde_lambda::functions;
use sde_lambda::rest::{RestEvent, RestResponse};
use serde_json::{Value, json};

fn body(response: &RestResponse) -> Value {
    serde_json::from_str(&response.body).unwrap()
}

fn without_claims(name: &str) -> RestEvent {
    let mut event = fixture_json(name);
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    serde_json::from_value(event).unwrap()
}

fn with_content_type(name: &str, content_type: &str) -> RestEvent {
    let mut event = fixture_json(name);
    event["headers"]["content-type"] = json!(content_type);
    serde_json::from_value(event).unwrap()
}

#[tokio::test]
async fn search_answers_the_page_the_frontend_reads_with_cors() {
    let index = sample_index();
    let response = functions::search(&index, fixture("rest-search.json"), CORS).await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    assert_eq!(response.headers["Access-Control-Allow-Origin"], CORS);
    assert_eq!(response.headers["Content-Type"], "application/json");
    let page = body(&response);
    assert_eq!(page["Status"], "ok");
    assert_eq!(page["TotalResults"], 2);
    assert_eq!(page["ResultsCount"], 2);
    let mut ids: Vec<&str> = page["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["uuid"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["p-1", "p-2"]);
    assert_eq!(page["Results"][0]["Type"], "posts");
}

#[tokio::test]
async fn an_event_without_authorizer_claims_is_a_401() {
    let index = sample_index();
    let response = functions::search(&index, without_claims("rest-search.json"), CORS).await;
    assert_eq!(response.status_code, 401);
    assert_eq!(response.headers["WWW-Authenticate"], "Bearer");
    assert_eq!(response.headers["Access-Control-Allow-Origin"], CORS);
    assert!(body(&response)["message"].is_string());

    let workflow = FakeWorkflow::default();
    let response = functions::download_request(
        &workflow,
        ExportLimits::default(),
        without_claims("rest-download-request.json"),
        CORS,
    )
    .await;
    assert_eq!(response.status_code, 401);
    assert!(workflow.started.lock().unwrap().is_empty());

    let progress = RecordingProgress::default();
    let response = functions::report_status(
        &workflow,
        &progress,
        without_claims("rest-report-status.json"),
        CORS,
    )
    .await;
    assert_eq!(response.status_code, 401);
}

#[tokio::test]
async fn a_body_not_declared_json_is_a_415() {
    let index = sample_index();
    let response = functions::search(
        &index,
        with_content_type("rest-search.json", "text/plain;charset=UTF-8"),
        CORS,
    )
    .await;
    assert_eq!(response.status_code, 415);
    assert_eq!(
        body(&response)["message"],
        "send the body as Content-Type: application/json"
    );
    assert_eq!(response.headers["Access-Control-Allow-Origin"], CORS);

    let workflow = FakeWorkflow::default();
    let response = functions::download_request(
        &workflow,
        ExportLimits::default(),
        with_content_type(
            "rest-download-request.json",
            "application/x-www-form-urlencoded",
        ),
        CORS,
    )
    .await;
    assert_eq!(response.status_code, 415);
}

#[tokio::test]
async fn an_unreachable_index_is_a_503_that_leaks_nothing() {
    let response = functions::search(&UnreachableIndex, fixture("rest-search.json"), CORS).await;
    assert_eq!(response.status_code, 503);
    assert!(!response.body.contains("10.0.0.3"), "{}", response.body);
}

#[tokio::test]
async fn download_request_starts_an_execution_owned_by_the_caller() {
    let workflow = FakeWorkflow::default();
    let response = functions::download_request(
        &workflow,
        ExportLimits::default(),
        fixture("rest-download-request.json"),
        CORS,
    )
    .await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    assert_eq!(response.headers["Access-Control-Allow-Origin"], CORS);
    let started = workflow.started.lock().unwrap().clone();
    assert_eq!(started.len(), 1);
    let (name, input) = &started[0];
    assert!(name.starts_with(&format!("{SUB}_")), "{name}");
    assert_eq!(
        body(&response)["executionArn"],
        format!("arn:aws:states:eu-west-1:123456789012:execution:sde-dev-download-request:{name}")
    );
    assert_eq!(input["owner"], json!({"sub": SUB, "email": EMAIL}));
    assert_eq!(input["type"], "direct");
    assert_eq!(input["exportId"], json!(name));
}

#[tokio::test]
async fn the_execution_input_has_the_shape_of_the_generate_csv_fixture() {
    let workflow = FakeWorkflow::default();
    functions::download_request(
        &workflow,
        ExportLimits::default(),
        fixture("rest-download-request.json"),
        CORS,
    )
    .await;
    let (_, input) = workflow.started.lock().unwrap()[0].clone();
    let keys = |value: &Value| {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let mut started = keys(&input);
    started.retain(|k| k != "options");
    let mut recorded = keys(&fixture_json("task-generate-csv.json"));
    recorded.retain(|k| k != "options");
    assert_eq!(started, recorded);
}

#[tokio::test]
async fn too_many_running_exports_is_a_429() {
    let workflow = FakeWorkflow {
        running: 5,
        ..FakeWorkflow::default()
    };
    let response = functions::download_request(
        &workflow,
        ExportLimits::default(),
        fixture("rest-download-request.json"),
        CORS,
    )
    .await;
    assert_eq!(response.status_code, 429);
    assert!(workflow.started.lock().unwrap().is_empty());
}

#[tokio::test]
async fn report_status_shows_the_owner_their_running_export_with_progress() {
    let workflow = FakeWorkflow::with_fixture_execution(ExecutionStatus::Running, None);
    let progress = RecordingProgress::default();
    progress.record(
        EXPORT_ID,
        ExportProgress {
            rows_written: 400,
            total_rows: 1234,
        },
    );
    let response = functions::report_status(
        &workflow,
        &progress,
        fixture("rest-report-status.json"),
        CORS,
    )
    .await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    assert_eq!(response.headers["Access-Control-Allow-Origin"], CORS);
    assert_eq!(
        body(&response),
        json!({"status": "RUNNING", "reportURL": "", "rowsWritten": 400, "totalRows": 1234})
    );
}

#[tokio::test]
async fn report_status_gives_the_url_of_a_finished_export() {
    let report = fixture_json("task-email-link.json")["report"].clone();
    let output = json!({"type": "direct", "report": report});
    let workflow = FakeWorkflow::with_fixture_execution(ExecutionStatus::Succeeded, Some(output));
    let response = functions::report_status(
        &workflow,
        &RecordingProgress::default(),
        fixture("rest-report-status.json"),
        CORS,
    )
    .await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    let status = body(&response);
    assert_eq!(status["status"], "SUCCEEDED");
    assert_eq!(status["reportURL"], report["reportURL"]);
    assert_eq!(status["rowsWritten"], 1234);
}

#[tokio::test]
async fn another_users_execution_is_a_404() {
    let workflow = FakeWorkflow::with_fixture_execution(ExecutionStatus::Running, None);
    let mut event = fixture_json("rest-report-status.json");
    event["requestContext"]["authorizer"]["claims"]["sub"] = json!("someone-else");
    let response = functions::report_status(
        &workflow,
        &RecordingProgress::default(),
        serde_json::from_value(event).unwrap(),
        CORS,
    )
    .await;
    assert_eq!(response.status_code, 404);
    assert_eq!(body(&response), json!({"message": "no such export"}));
}
