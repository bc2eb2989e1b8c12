//! Large exports fanned out over slices of one snapshot, end to end on the local stack: the
//! composed file against the single-run file of the same posts (same rows, header once, exact
//! count) in plain, gzip and Excel (BOM) variants, and a slice failing for good.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use async_trait::async_trait;
use common::{SEED_POSTS, TestApp};
use sde_core::{
    ContentInfo, MultipartUpload, ObjectKey, ObjectStore, SignedUrl, StoreError, StoreErrorKind,
    StoredObject,
};
use serde_json::{Value, json};
use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(50);
/// Rows per slice on the sliced stack: the seeded posts make several slices.
const ROWS_PER_SLICE: u64 = 700;

/// The export store, recording the keys uploads start at and refusing, for good, the uploads
/// whose key contains `fail_key`.
#[derive(Debug)]
struct WatchedStore {
    inner: Arc<dyn ObjectStore>,
    started: Arc<Mutex<Vec<String>>>,
    fail_key: Option<&'static str>,
}

#[async_trait]
impl ObjectStore for WatchedStore {
    async fn start_upload(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        self.started.lock().unwrap().push(key.to_string());
        if self
            .fail_key
            .is_some_and(|fail| key.as_str().contains(fail))
        {
            return Err(StoreError::new(StoreErrorKind::Denied, "starting a slice"));
        }
        self.inner.start_upload(key, content).await
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
        ttl: Duration,
    ) -> Result<SignedUrl, StoreError> {
        self.inner.presign_get(key, content, ttl).await
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        self.inner.exists(key).await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn compose(
        &self,
        target: &ObjectKey,
        parts: &[ObjectKey],
        content: &ContentInfo,
    ) -> Result<StoredObject, StoreError> {
        self.inner.compose(target, parts, content).await
    }
}

fn sliced(
    started: Arc<Mutex<Vec<String>>>,
    fail_key: Option<&'static str>,
) -> impl FnOnce(&mut sde_local::StackConfig) {
    move |config| {
        config.export.fan_out.rows_per_slice = ROWS_PER_SLICE;
        config.store_layer = Some(Arc::new(move |inner| {
            Arc::new(WatchedStore {
                inner,
                started: started.clone(),
                fail_key,
            }) as Arc<dyn ObjectStore>
        }));
    }
}

/// Exports every post with `options` and returns the finished status and the file.
async fn export(app: &TestApp, token: &str, options: &Value) -> (Value, Vec<u8>) {
    // Export options sit beside `searchCriteria`.
    let mut request = json!({"type": "direct", "searchCriteria": {"search": []}});
    for (name, value) in options.as_object().unwrap() {
        request[name] = value.clone();
    }
    let (code, body) = app.post("/download-request", token, request).await;
    assert_eq!(code, 200, "{body}");
    let arn = body["executionArn"].as_str().unwrap().to_owned();
    let status = app.wait_finished(token, &arn, POLL).await;
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    let (code, _, file) = app.download(status["reportURL"].as_str().unwrap()).await;
    assert_eq!(code, 200);
    (status, file)
}

fn variants() -> Vec<Value> {
    vec![
        json!({}),
        json!({"compress": true}),
        json!({"excelCompatible": true}),
        json!({"excelCompatible": true, "compress": true}),
        json!({"format": "ndjson"}),
    ]
}

fn inflate(options: &Value, file: &[u8]) -> Vec<u8> {
    if options["compress"] != json!(true) {
        return file.to_vec();
    }
    // Concatenated members: MultiGzDecoder reads them all, as gunzip does.
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(file)
        .read_to_end(&mut plain)
        .unwrap();
    plain
}

/// The file's lines: the first (header) apart, the rest sorted (slices may order rows
/// differently from a single run).
fn lines(plain: &[u8]) -> (String, Vec<String>) {
    let text = String::from_utf8(plain.to_vec()).unwrap();
    // Content may hold quoted newlines; records, not lines, are what must match, so split on
    // the CRLF/LF ending each record as the encoder writes it and compare the sorted multiset.
    let mut records: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let first = records.remove(0);
    records.sort();
    (first, records)
}

#[tokio::test]
async fn a_sliced_export_is_the_single_run_file_up_to_row_order_in_every_variant() {
    let dir = tempfile::tempdir().unwrap();
    let started = Arc::new(Mutex::new(Vec::new()));
    let mut app = TestApp::spawn_in(dir.path().to_path_buf(), sliced(started.clone(), None)).await;
    let token = app.token("big@example.com").await;
    let mut sliced_files = Vec::new();
    for options in variants() {
        sliced_files.push(export(&app, &token, &options).await);
    }
    app.shutdown().await;
    let slice_uploads = started
        .lock()
        .unwrap()
        .iter()
        .filter(|key| key.contains(".slices/"))
        .count() as u64;
    let slices = SEED_POSTS.div_ceil(ROWS_PER_SLICE);
    assert_eq!(
        slice_uploads,
        slices * variants().len() as u64,
        "each export fanned out"
    );

    // The same posts, exported by single runs (the default budget fits them in one slice).
    let single = TestApp::spawn_in(dir.path().to_path_buf(), |_| {}).await;
    let token = single.token("big@example.com").await;
    for (options, (status, sliced_file)) in variants().iter().zip(sliced_files) {
        assert_eq!(status["rowsWritten"], json!(SEED_POSTS), "exact count");
        let (_, single_file) = export(&single, &token, options).await;
        if options["compress"] == json!(true) {
            assert_eq!(&sliced_file[..2], &[0x1f, 0x8b], "gzip");
        }
        let (sliced_plain, single_plain) = (
            inflate(options, &sliced_file),
            inflate(options, &single_file),
        );
        assert_eq!(sliced_plain.len(), single_plain.len(), "{options}");
        let bom = "\u{feff}".as_bytes();
        assert_eq!(
            sliced_plain.starts_with(bom),
            options["excelCompatible"] == json!(true),
            "{options}"
        );
        assert!(
            !sliced_plain[3..].windows(3).any(|w| w == bom),
            "the BOM appears once: {options}"
        );
        let (sliced_first, sliced_rest) = lines(&sliced_plain);
        let (single_first, single_rest) = lines(&single_plain);
        assert_eq!(sliced_first, single_first, "{options}");
        assert_eq!(sliced_rest, single_rest, "same rows: {options}");
        if options["format"] != json!("ndjson") {
            let headers = sliced_rest
                .iter()
                .filter(|line| line.starts_with("UserID,DateCreated"))
                .count();
            assert_eq!(headers, 0, "the header appears once: {options}");
            let rows = common::csv_rows(&sliced_plain);
            assert_eq!(rows.len() as u64, SEED_POSTS, "{options}");
        }
    }
}

#[tokio::test]
async fn a_slice_failing_for_good_fails_the_export_leaves_no_object_and_tells_the_owner() {
    let started = Arc::new(Mutex::new(Vec::new()));
    let app = TestApp::spawn_with(sliced(started.clone(), Some(".slices/00002"))).await;
    let token = app.token("unlucky-big@example.com").await;
    let (code, body) = app
        .post(
            "/download-request",
            &token,
            json!({"type": "email", "searchCriteria": {"search": []}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let arn = body["executionArn"].as_str().unwrap().to_owned();
    let status = app.wait_finished(&token, &arn, POLL).await;
    assert_eq!(status["status"], "FAILED", "{status}");
    assert_eq!(
        status["error"],
        sde_handlers::task_failure::reason("Export.Failed")
    );
    let mail = app.outbox();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("Subject: Your export failed"));
    assert!(
        started
            .lock()
            .unwrap()
            .iter()
            .any(|k| k.contains(".slices/00002")),
        "the failing slice ran"
    );
    // Other slices may have finished; their objects are deleted with the failure.
    assert_eq!(
        app.stored_files(),
        Vec::<std::path::PathBuf>::new(),
        "no slice object or file is left"
    );
}
