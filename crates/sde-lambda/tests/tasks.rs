//! The Step Functions task functions driven with the payloads the state machine's `Parameters`
//! build (`tests/fixtures/apigw/task-*.json`): their output, and the stable `errorType` of their
//! failures that `Retry` and `Catch` match on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lambda_runtime::Diagnostic;
use sde_core::PushRegistry;
use sde_core::{DownloadLinks, SigningKey};
use sde_handlers::generate_csv::ExportSettings;
use sde_lambda::task;
use sde_local::MemoryPushRegistry;
use sde_localfs::LocalFsStore;
use serde_json::json;

fn store(dir: &tempfile::TempDir) -> LocalFsStore {
    LocalFsStore::open(dir.path(), "http://127.0.0.1:3000").unwrap()
}

/// Lasting links under the fixtures' API.
fn links() -> DownloadLinks {
    DownloadLinks::new(
        SigningKey::generate(),
        "https://abc123defg.execute-api.eu-west-1.amazonaws.com/dev",
    )
}

/// A hand-written OpenSearch 2.x that opens a point in time (`pit_id`, `_shards`, as its Point
/// in Time API documents) and counts `total` matches in it; `pit_route` says whether it has the
/// point-in-time API at all (OpenSearch before 2.4 answers 400 "no handler found").
async fn opensearch_counting(
    total: u64,
    pit_route: bool,
) -> sde_elasticsearch::testing::FakeCluster {
    use sde_elasticsearch::testing::{FakeCluster, Reply};
    let shards = json!({"total": 2, "successful": 2, "skipped": 0, "failed": 0});
    FakeCluster::start(move |request, _| {
        match (request.method.as_str(), request.path(), pit_route) {
            ("POST", "/posts/_search/point_in_time", true) => Reply::value(
                200,
                &json!({"pit_id": "pit-1", "_shards": shards, "creation_time": 1_658_146_050_064_u64}),
            ),
            ("POST", "/posts/_search/point_in_time", false) => Reply::value(
                400,
                &json!({"error": "no handler found for uri [/posts/_search/point_in_time] and method [POST]"}),
            ),
            ("POST", "/_search", true) => Reply::value(
                200,
                &json!({"pit_id": "pit-1", "took": 1, "timed_out": false, "_shards": shards,
                        "hits": {"total": {"value": total, "relation": "eq"}, "max_score": null,
                                 "hits": []}}),
            ),
            _ => Reply::json(500, "the fake has no answer for this"),
        }
    })
    .await
}

/// The posts index as the Lambda configures it (`SDE_ES_*`, no `SDE_ES_ENGINE`: OpenSearch).
fn lambda_es_index(url: &str) -> sde_elasticsearch::EsIndex {
    let config = sde_lambda::deps::es_config(
        sde_core::testing::settings_lookup(&[("SDE_ES_URL", url)]),
        None,
    )
    .unwrap();
    sde_elasticsearch::EsIndex::new(&config).unwrap()
}

#[tokio::test]
async fn plan_export_on_opensearch_cuts_a_point_in_time_into_slices() {
    let cluster = opensearch_counting(5, true).await;
    let mut settings = ExportSettings::default();
    settings.fan_out.rows_per_slice = 2;
    let output = task::plan_export(
        &lambda_es_index(cluster.url()),
        settings,
        fixture_json("task-generate-csv.json"),
    )
    .await
    .unwrap();
    assert_eq!(output["sliced"], true, "{output}");
    assert_eq!(output["total"], 5);
    assert_eq!(output["snapshot"], "opensearch:20m:pit-1");
    assert_eq!(output["slices"].as_array().unwrap().len(), 3);
    assert!(
        cluster
            .requests_to("DELETE", "/_search/point_in_time")
            .is_empty()
    );

    // Within one slice's budget: not sliced, and the point in time is released at once.
    let output = task::plan_export(
        &lambda_es_index(cluster.url()),
        ExportSettings::default(),
        fixture_json("task-generate-csv.json"),
    )
    .await
    .unwrap();
    assert_eq!(output["sliced"], false, "{output}");
    assert_eq!(
        cluster
            .requests_to("DELETE", "/_search/point_in_time")
            .len(),
        1
    );
}

#[tokio::test]
async fn plan_export_on_a_cluster_without_point_in_time_keeps_the_single_run() {
    let cluster = opensearch_counting(5, false).await;
    let mut settings = ExportSettings::default();
    settings.fan_out.rows_per_slice = 2;
    let output = task::plan_export(
        &lambda_es_index(cluster.url()),
        settings,
        fixture_json("task-generate-csv.json"),
    )
    .await
    .unwrap();
    assert_eq!(output["sliced"], false, "{output}");
    assert_eq!(output["snapshot"], serde_json::Value::Null);
}

#[tokio::test]
async fn generate_csv_exports_every_match_and_flushes_its_progress() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let progress = RecordingProgress::default();
    let output = task::generate_csv(
        &sample_index(),
        &store,
        &links(),
        &progress,
        &FakeWorkflow::default(),
        ExportSettings::default(),
        fixture_json("task-generate-csv.json"),
    )
    .await
    .unwrap();
    assert_eq!(output["rows"], 2);
    assert_eq!(output["key"], format!("exports/{SUB}/{EXPORT_ID}.csv"));
    assert!(
        output["reportURL"].as_str().unwrap().starts_with(
            "https://abc123defg.execute-api.eu-west-1.amazonaws.com/dev/download/exports/"
        ),
        "{output}"
    );
    assert!(output["expiresAt"].is_string());
    assert_eq!(progress.flushes(), 1);
    let file = std::fs::read_to_string(
        store.object_path(&sde_core::ObjectKey::new(output["key"].as_str().unwrap()).unwrap()),
    )
    .unwrap();
    assert_eq!(file.lines().count(), 3, "{file}");
    assert!(file.contains("\"two cats, \"\"one\"\" hat\""), "{file}");
}

/// The local store, slow to start an upload: an export takes longer than a stop check.
#[derive(Debug)]
struct SlowToStart(LocalFsStore);

#[async_trait::async_trait]
impl sde_core::ObjectStore for SlowToStart {
    async fn start_upload(
        &self,
        key: &sde_core::ObjectKey,
        content: &sde_core::ContentInfo,
    ) -> Result<Box<dyn sde_core::MultipartUpload>, sde_core::StoreError> {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        self.0.start_upload(key, content).await
    }
    async fn presign_get(
        &self,
        key: &sde_core::ObjectKey,
        content: &sde_core::ContentInfo,
        expires_in: std::time::Duration,
    ) -> Result<sde_core::SignedUrl, sde_core::StoreError> {
        self.0.presign_get(key, content, expires_in).await
    }
    async fn exists(&self, key: &sde_core::ObjectKey) -> Result<bool, sde_core::StoreError> {
        self.0.exists(key).await
    }
    async fn delete(&self, key: &sde_core::ObjectKey) -> Result<(), sde_core::StoreError> {
        self.0.delete(key).await
    }
}

#[tokio::test]
async fn generate_csv_of_a_stopped_execution_aborts_its_upload_and_fails_as_cancelled() {
    // On AWS a stop (a cancel) does not end the invocation: the export notices by itself.
    let dir = tempfile::tempdir().unwrap();
    let store = SlowToStart(store(&dir));
    let workflow = FakeWorkflow::with_fixture_execution(sde_core::ExecutionStatus::Aborted, None);
    let settings = ExportSettings {
        stop_check_every: std::time::Duration::from_millis(50),
        ..ExportSettings::default()
    };
    let failure = task::generate_csv(
        &sample_index(),
        &store,
        &links(),
        &RecordingProgress::default(),
        &workflow,
        settings,
        fixture_json("task-generate-csv.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(Diagnostic::from(failure).error_type, "Export.Cancelled");
    let key = sde_core::ObjectKey::new(format!("exports/{SUB}/{EXPORT_ID}.csv")).unwrap();
    assert!(!store.0.object_path(&key).exists(), "nothing was stored");
    let staged = std::fs::read_dir(dir.path().join("tmp/uploads"))
        .unwrap()
        .count();
    assert_eq!(staged, 0, "the upload was aborted");

    // The same export of a running execution completes.
    let running = FakeWorkflow::with_fixture_execution(sde_core::ExecutionStatus::Running, None);
    let output = task::generate_csv(
        &sample_index(),
        &store,
        &links(),
        &RecordingProgress::default(),
        &running,
        settings,
        fixture_json("task-generate-csv.json"),
    )
    .await
    .unwrap();
    assert_eq!(output["rows"], 2);
}

#[tokio::test]
async fn a_generate_csv_failure_reports_its_stable_error_type() {
    let dir = tempfile::tempdir().unwrap();
    let progress = RecordingProgress::default();
    let failure = task::generate_csv(
        &UnreachableIndex,
        &store(&dir),
        &links(),
        &progress,
        &FakeWorkflow::default(),
        ExportSettings::default(),
        fixture_json("task-generate-csv.json"),
    )
    .await
    .unwrap_err();
    let diagnostic = Diagnostic::from(failure);
    assert_eq!(diagnostic.error_type, "Export.Transient");
    assert!(
        diagnostic.error_message.contains("unavailable"),
        "{}",
        diagnostic.error_message
    );
    assert_eq!(progress.flushes(), 1, "progress is flushed on failure too");
}

#[tokio::test]
async fn a_malformed_task_payload_is_an_invalid_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut payload = fixture_json("task-generate-csv.json");
    payload["type"] = json!("fax");
    let failure = task::generate_csv(
        &sample_index(),
        &store(&dir),
        &links(),
        &RecordingProgress::default(),
        &FakeWorkflow::default(),
        ExportSettings::default(),
        payload,
    )
    .await
    .unwrap_err();
    assert_eq!(
        Diagnostic::from(failure).error_type,
        "Export.InvalidRequest"
    );

    let mut payload = fixture_json("task-generate-csv.json");
    payload["searchCriteria"]["search"] = json!([{"value": ""}]);
    let failure = task::generate_csv(
        &sample_index(),
        &store(&dir),
        &links(),
        &RecordingProgress::default(),
        &FakeWorkflow::default(),
        ExportSettings::default(),
        payload,
    )
    .await
    .unwrap_err();
    assert_eq!(
        Diagnostic::from(failure).error_type,
        "Export.InvalidRequest"
    );
}

#[tokio::test]
async fn email_link_sends_the_owner_their_link() {
    let mailer = RecordingMailer::default();
    let output = task::email_link(&mailer, fixture_json("task-email-link.json"))
        .await
        .unwrap();
    assert_eq!(output, json!({"messageId": "message-1"}));
    let sent = mailer.sent.lock().unwrap();
    assert_eq!(sent[0].to, EMAIL);
    assert_eq!(sent[0].subject, "Your export is ready");
    let url = fixture_json("task-email-link.json")["report"]["reportURL"].clone();
    assert!(sent[0].text.contains(url.as_str().unwrap()));
}

#[tokio::test]
async fn email_failure_tells_the_owner_why_in_words() {
    let mailer = RecordingMailer::default();
    task::email_link(&mailer, fixture_json("task-email-failure.json"))
        .await
        .unwrap();
    let sent = mailer.sent.lock().unwrap();
    assert_eq!(sent[0].subject, "Your export failed");
    let reason = sde_handlers::task_failure::reason("Export.Transient");
    assert!(
        sent[0].text.contains(&format!("Reason: {reason}")),
        "{}",
        sent[0].text
    );
    assert!(!sent[0].text.contains("errorType"));
    assert!(
        !sent[0].text.contains("connection reset"),
        "the internal cause stays out of the email"
    );
}

#[tokio::test]
async fn push_result_waits_for_a_client_that_has_not_connected() {
    let registry = MemoryPushRegistry::default();
    let channel = RecordingChannel::default();
    let workflow = FakeWorkflow::default();
    let output = task::push_result(
        &registry,
        &channel,
        &workflow,
        fixture_json("task-push-result.json"),
    )
    .await
    .unwrap();
    assert_eq!(output, json!({"delivered": false}));
    assert!(channel.posted.lock().unwrap().is_empty());
    let pending = registry.delivery(EXECUTION_ARN).await.unwrap().unwrap();
    let payload = fixture_json("task-push-result.json");
    assert_eq!(pending.frame, ready_frame(&payload));
    assert_eq!(pending.task_token.as_deref(), payload["taskToken"].as_str());
}

/// The frame a client receives: the URL where each release of the original frontend reads it.
fn ready_frame(payload: &serde_json::Value) -> serde_json::Value {
    let url = &payload["report"]["reportURL"];
    json!({"reportURL": url, "data": {"reportURL": url}})
}

/// A push registry where the fixture execution's owner is connected and waiting for the file.
async fn registry_with_a_waiting_client() -> MemoryPushRegistry {
    let registry = MemoryPushRegistry::default();
    let connection = sde_core::PushConnection {
        connection_id: CONNECTION_ID.to_owned(),
        owner_sub: SUB.to_owned(),
        wants_progress: false,
    };
    registry
        .put_connection(EXECUTION_ARN, &connection)
        .await
        .unwrap();
    registry
}

#[tokio::test]
async fn push_result_delivers_to_a_waiting_client_and_completes_the_task() {
    let registry = registry_with_a_waiting_client().await;
    let channel = RecordingChannel::default();
    let workflow = FakeWorkflow::default();
    let payload = fixture_json("task-push-result.json");
    let output = task::push_result(&registry, &channel, &workflow, payload.clone())
        .await
        .unwrap();
    assert_eq!(output, json!({"delivered": true}));
    assert_eq!(
        *channel.posted.lock().unwrap(),
        [(CONNECTION_ID.to_owned(), ready_frame(&payload))]
    );
    let completed = workflow.completed_tasks.lock().unwrap();
    assert_eq!(completed[0].0, payload["taskToken"].as_str().unwrap());
}

#[tokio::test]
async fn push_error_sends_the_reason_not_the_cause_to_a_waiting_client() {
    let registry = registry_with_a_waiting_client().await;
    let channel = RecordingChannel::default();
    let workflow = FakeWorkflow::default();
    task::push_result(
        &registry,
        &channel,
        &workflow,
        fixture_json("task-push-error.json"),
    )
    .await
    .unwrap();
    let posted = channel.posted.lock().unwrap();
    assert_eq!(posted[0].1["executionArn"], EXECUTION_ARN);
    assert_eq!(
        posted[0].1["error"],
        sde_handlers::task_failure::reason("Export.Transient")
    );
    assert!(workflow.completed_tasks.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_push_payload_without_report_or_error_is_an_invalid_request() {
    let mut payload = fixture_json("task-push-result.json");
    payload.as_object_mut().unwrap().remove("report");
    let failure = task::push_result(
        &MemoryPushRegistry::default(),
        &RecordingChannel::default(),
        &FakeWorkflow::default(),
        payload,
    )
    .await
    .unwrap_err();
    assert_eq!(
        Diagnostic::from(failure).error_type,
        "Export.InvalidRequest"
    );
}
