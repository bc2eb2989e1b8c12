//! The REST functions driven with the API Gateway proxy events under `tests/fixtures/apigw/`
//! (hand-written in the shape API Gateway documents): what the frontend gets back, CORS included.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use axum::Router;
use axum::http::HeaderValue;
use common::*;
use sde_core::{
    ExecutionStatus, ExportProgress, ExportSlots, ProgressBoard, SearchIndex, Workflow,
};
use sde_edge::rest::{
    CorsOrigin, ExportStarter, StatusReader, download_request_routes, posts_routes,
    report_status_routes, search_routes, subscriptions_routes,
};
use sde_handlers::download_request::ExportLimits;
use sde_lambda::rest;
use sde_local::{LocalSubscriptions, MemoryExportSlots};
use serde_json::{Value, json};
use std::sync::Arc;

fn cors() -> CorsOrigin {
    CorsOrigin::Exact(HeaderValue::from_static(CORS))
}

fn search_api(index: impl SearchIndex + 'static) -> Router {
    rest::api(search_routes(Arc::new(index)), &cors())
}

fn download_api(workflow: &Arc<FakeWorkflow>, slots: &Arc<MemoryExportSlots>) -> Router {
    let workflow: Arc<dyn Workflow> = workflow.clone();
    rest::api(
        download_request_routes(ExportStarter {
            workflow,
            slots: slots.clone(),
            limits: ExportLimits::default(),
        }),
        &cors(),
    )
}

fn status_api(workflow: FakeWorkflow, progress: RecordingProgress) -> Router {
    rest::api(
        report_status_routes(StatusReader {
            workflow: Arc::new(workflow),
            progress: Arc::new(progress),
        }),
        &cors(),
    )
}

fn posts_api(index: &sde_tantivy::TantivyIndex) -> Router {
    rest::api(
        posts_routes(
            Arc::new(index.clone()),
            Arc::new(sde_core::testing::RecordingQueue::default()),
        ),
        &cors(),
    )
}

fn body(response: &ApiGatewayProxyResponse) -> Value {
    match &response.body {
        Some(Body::Text(text)) => serde_json::from_str(text).unwrap(),
        other => panic!("not a text body: {other:?}"),
    }
}

fn header<'a>(response: &'a ApiGatewayProxyResponse, name: &str) -> &'a str {
    response.headers[name].to_str().unwrap()
}

fn without_claims(name: &str) -> ApiGatewayProxyRequest {
    let mut event = fixture_json(name);
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    serde_json::from_value(event).unwrap()
}

fn with_content_type(name: &str, content_type: &str) -> ApiGatewayProxyRequest {
    let mut event = fixture_json(name);
    event["headers"]["content-type"] = json!(content_type);
    event["multiValueHeaders"]["content-type"] = json!([content_type]);
    serde_json::from_value(event).unwrap()
}

#[tokio::test]
async fn search_answers_the_page_the_frontend_reads_with_cors() {
    let index = sample_index();
    let response = rest::serve(search_api(index), fixture("rest-search.json")).await;
    assert_eq!(response.status_code, 200, "{:?}", response.body);
    assert_eq!(header(&response, "Access-Control-Allow-Origin"), CORS);
    assert_eq!(header(&response, "Content-Type"), "application/json");
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
    let response = rest::serve(search_api(index), without_claims("rest-search.json")).await;
    assert_eq!(response.status_code, 401);
    assert_eq!(header(&response, "WWW-Authenticate"), "Bearer");
    assert_eq!(header(&response, "Access-Control-Allow-Origin"), CORS);
    assert!(body(&response)["message"].is_string());

    let workflow = Arc::new(FakeWorkflow::default());
    let response = rest::serve(
        download_api(&workflow, &Arc::new(MemoryExportSlots::default())),
        without_claims("rest-download-request.json"),
    )
    .await;
    assert_eq!(response.status_code, 401);
    assert!(workflow.started.lock().unwrap().is_empty());

    let response = rest::serve(
        status_api(FakeWorkflow::default(), RecordingProgress::default()),
        without_claims("rest-report-status.json"),
    )
    .await;
    assert_eq!(response.status_code, 401);
}

#[tokio::test]
async fn a_body_not_declared_json_is_a_415() {
    let index = sample_index();
    let response = rest::serve(
        search_api(index),
        with_content_type("rest-search.json", "text/plain;charset=UTF-8"),
    )
    .await;
    assert_eq!(response.status_code, 415);
    assert_eq!(
        body(&response)["message"],
        "send the body as Content-Type: application/json"
    );
    assert_eq!(header(&response, "Access-Control-Allow-Origin"), CORS);

    let workflow = Arc::new(FakeWorkflow::default());
    let response = rest::serve(
        download_api(&workflow, &Arc::new(MemoryExportSlots::default())),
        with_content_type(
            "rest-download-request.json",
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    assert_eq!(response.status_code, 415);
}

#[tokio::test]
async fn an_unreachable_index_is_a_503_that_leaks_nothing() {
    let response = rest::serve(search_api(UnreachableIndex), fixture("rest-search.json")).await;
    assert_eq!(response.status_code, 503);
    assert!(!body(&response).to_string().contains("10.0.0.3"));
}

#[tokio::test]
async fn download_request_starts_an_execution_owned_by_the_caller() {
    let workflow = Arc::new(FakeWorkflow::default());
    let response = rest::serve(
        download_api(&workflow, &Arc::new(MemoryExportSlots::default())),
        fixture("rest-download-request.json"),
    )
    .await;
    assert_eq!(response.status_code, 200, "{:?}", response.body);
    assert_eq!(header(&response, "Access-Control-Allow-Origin"), CORS);
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
    let workflow = Arc::new(FakeWorkflow::default());
    rest::serve(
        download_api(&workflow, &Arc::new(MemoryExportSlots::default())),
        fixture("rest-download-request.json"),
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
    let mut fixture = keys(&fixture_json("task-generate-csv.json"));
    fixture.retain(|k| k != "options");
    assert_eq!(started, fixture);
}

#[tokio::test]
async fn too_many_running_exports_is_a_429() {
    let workflow = Arc::new(FakeWorkflow::default());
    let slots = Arc::new(MemoryExportSlots::default());
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    for n in 0..5 {
        let export_id = format!("{SUB}_{n}");
        slots.reserve(SUB, &export_id, 5, until).await.unwrap();
    }
    let response = rest::serve(
        download_api(&workflow, &slots),
        fixture("rest-download-request.json"),
    )
    .await;
    assert_eq!(response.status_code, 429);
    assert_eq!(
        body(&response)["message"],
        "you already have 5 exports running (the limit is 5); wait for one to finish"
    );
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
    let response = rest::serve(
        status_api(workflow, progress),
        fixture("rest-report-status.json"),
    )
    .await;
    assert_eq!(response.status_code, 200, "{:?}", response.body);
    assert_eq!(header(&response, "Access-Control-Allow-Origin"), CORS);
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
    let response = rest::serve(
        status_api(workflow, RecordingProgress::default()),
        fixture("rest-report-status.json"),
    )
    .await;
    assert_eq!(response.status_code, 200, "{:?}", response.body);
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
    let response = rest::serve(
        status_api(workflow, RecordingProgress::default()),
        serde_json::from_value(event).unwrap(),
    )
    .await;
    assert_eq!(response.status_code, 404);
    assert_eq!(body(&response), json!({"message": "no such export"}));
}

#[tokio::test]
async fn an_email_export_for_an_unverified_address_is_a_403_and_starts_nothing() {
    let workflow = Arc::new(FakeWorkflow::default());
    let mut event = fixture_json("rest-download-request.json");
    event["requestContext"]["authorizer"]["claims"]["email_verified"] = json!("false");
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    body["type"] = json!("email");
    event["body"] = json!(body.to_string());
    let response = rest::serve(
        download_api(&workflow, &Arc::new(MemoryExportSlots::default())),
        serde_json::from_value(event.clone()).unwrap(),
    )
    .await;
    assert_eq!(response.status_code, 403);
    assert!(
        body_of_message(&response).contains("not verified"),
        "{:?}",
        response.body
    );
    assert!(workflow.started.lock().unwrap().is_empty());

    event["requestContext"]["authorizer"]["claims"]["email_verified"] = json!("true");
    let response = rest::serve(
        download_api(&workflow, &Arc::new(MemoryExportSlots::default())),
        serde_json::from_value(event).unwrap(),
    )
    .await;
    assert_eq!(response.status_code, 200, "{:?}", response.body);
}

fn body_of_message(response: &ApiGatewayProxyResponse) -> String {
    body(response)["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn posts_stores_the_post_as_the_authorizers_user_and_answers_201() {
    let index = sample_index();
    let response = rest::serve(posts_api(&index), fixture("rest-posts.json")).await;
    assert_eq!(response.status_code, 201, "{:?}", response.body);
    assert_eq!(header(&response, "Access-Control-Allow-Origin"), CORS);
    assert_eq!(header(&response, "Content-Type"), "application/json");
    let post = body(&response);
    assert_eq!(post["UserID"], SUB, "the authorizer's sub");
    assert_eq!(post["Content"], "Two cats, one box,\n\"who fits?\"");
    assert_eq!(post["Tags"], json!(["#cats", "#boxes"]));

    let boxes = sde_core::PostQuery {
        terms: vec!["boxes".into()],
        ..sde_core::PostQuery::default()
    };
    let page = index
        .search(&boxes, sde_core::PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1, "searchable when the function answers");
    assert_eq!(page.posts[0].id, post["uuid"].as_str().unwrap());
}

#[tokio::test]
async fn posts_refuses_a_body_naming_a_user_and_a_call_without_claims() {
    let index = sample_index();
    let mut event = fixture_json("rest-posts.json");
    event["body"] = json!(r#"{"Post": "hi", "Tags": [], "UserID": "someone-else"}"#);
    let response = rest::serve(posts_api(&index), serde_json::from_value(event).unwrap()).await;
    assert_eq!(response.status_code, 400);
    assert!(
        body(&response)["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `UserID`"),
        "{:?}",
        response.body
    );

    let response = rest::serve(posts_api(&index), without_claims("rest-posts.json")).await;
    assert_eq!(response.status_code, 401);
    assert_eq!(index.num_posts(), 4, "nothing was stored");
}

fn subscriptions_api(dir: &tempfile::TempDir) -> Router {
    let store = LocalSubscriptions::open(&dir.path().join("subscriptions.json")).unwrap();
    rest::api(
        subscriptions_routes(
            Arc::new(store),
            Arc::new(sde_core::testing::WordMatcher::default()),
        ),
        &cors(),
    )
}

/// The subscriptions fixture as `method` on `/subscriptions/<kind>`, with `body` (JSON text).
fn subscriptions_event(method: &str, kind: &str, body: Option<&str>) -> ApiGatewayProxyRequest {
    let mut event = fixture_json("rest-subscriptions.json");
    let path = format!("/subscriptions/{kind}");
    event["httpMethod"] = json!(method);
    event["requestContext"]["httpMethod"] = json!(method);
    event["resource"] = json!(path);
    event["path"] = json!(path);
    event["requestContext"]["resourcePath"] = json!(path);
    event["requestContext"]["path"] = json!(format!("/dev{path}"));
    event["body"] = json!(body);
    serde_json::from_value(event).unwrap()
}

#[tokio::test]
async fn subscriptions_serves_all_six_routes_as_the_authorizers_user() {
    let dir = tempfile::tempdir().unwrap();
    let api = subscriptions_api(&dir);
    let response = rest::serve(api.clone(), fixture("rest-subscriptions.json")).await;
    assert_eq!(response.status_code, 201, "{:?}", response.body);
    assert_eq!(header(&response, "Access-Control-Allow-Origin"), CORS);
    assert_eq!(
        body(&response),
        json!({"value": "Northern Lights", "kind": "daily"})
    );

    let again = rest::serve(api.clone(), fixture("rest-subscriptions.json")).await;
    assert_eq!(again.status_code, 400);
    assert_eq!(body_of_message(&again), "Subscription already exists");

    let real_time = rest::serve(
        api.clone(),
        subscriptions_event("POST", "real-time", Some(r##"{"value":"#aurora"}"##)),
    )
    .await;
    assert_eq!(real_time.status_code, 201, "{:?}", real_time.body);

    for (kind, terms) in [
        ("daily", json!(["Northern Lights"])),
        ("real-time", json!(["#aurora"])),
    ] {
        let listed = rest::serve(api.clone(), subscriptions_event("GET", kind, None)).await;
        assert_eq!(listed.status_code, 200, "{:?}", listed.body);
        assert_eq!(body(&listed), terms, "{kind}");
    }

    for kind in ["daily", "real-time"] {
        let term = if kind == "daily" {
            "northern lights"
        } else {
            "#AURORA"
        };
        let body_text = json!({ "value": term }).to_string();
        let removed = rest::serve(
            api.clone(),
            subscriptions_event("DELETE", kind, Some(&body_text)),
        )
        .await;
        assert_eq!(removed.status_code, 200, "{kind}: {:?}", removed.body);
        let absent = rest::serve(
            api.clone(),
            subscriptions_event("DELETE", kind, Some(&body_text)),
        )
        .await;
        assert_eq!(absent.status_code, 404, "{kind}");
        assert_eq!(body_of_message(&absent), "Subscription not found");
    }
    let store = LocalSubscriptions::open(&dir.path().join("subscriptions.json")).unwrap();
    assert_eq!(
        sde_core::Subscriptions::list(&store, SUB, sde_core::SubscriptionKind::Daily)
            .await
            .unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn subscriptions_refuses_an_unverified_address_and_a_call_without_claims() {
    let dir = tempfile::tempdir().unwrap();
    let api = subscriptions_api(&dir);
    let mut event = fixture_json("rest-subscriptions.json");
    event["requestContext"]["authorizer"]["claims"]["email_verified"] = json!("false");
    let response = rest::serve(api.clone(), serde_json::from_value(event).unwrap()).await;
    assert_eq!(response.status_code, 403, "{:?}", response.body);
    assert!(body_of_message(&response).contains("not verified"));

    let response = rest::serve(api.clone(), without_claims("rest-subscriptions.json")).await;
    assert_eq!(response.status_code, 401);

    let listed = rest::serve(api, subscriptions_event("GET", "daily", None)).await;
    assert_eq!(body(&listed), json!([]), "nothing was stored");
}
