//! Faults injected into the index and the store of a running local stack: transient failures
//! are retried into an exact file, and a client that leaves never fails its export.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use async_trait::async_trait;
use bytes::Bytes;
use common::{TestApp, csv_rows};
use sde_core::{
    ContentInfo, IndexError, IndexErrorKind, MultipartUpload, ObjectKey, ObjectStore, PageRequest,
    Post, PostQuery, PostScan, SearchIndex, SearchPage, SignedUrl, StoreError, StoreErrorKind,
    StoredObject,
};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(50);

fn selective() -> Value {
    json!({"search": [{"value": sde_dataimport::generate::SELECTIVE_WORD}]})
}

/// Fails the second batch of a scan while `failures` lasts.
#[derive(Debug)]
struct FlakyIndex {
    inner: Arc<dyn SearchIndex>,
    failures: Arc<AtomicU32>,
}

struct FlakyScan {
    inner: Box<dyn PostScan>,
    batches: u32,
    failures: Arc<AtomicU32>,
}

#[async_trait]
impl SearchIndex for FlakyIndex {
    async fn search(&self, query: &PostQuery, page: PageRequest) -> Result<SearchPage, IndexError> {
        self.inner.search(query, page).await
    }

    async fn scan(
        &self,
        query: &PostQuery,
        batch_size: NonZeroUsize,
    ) -> Result<Box<dyn PostScan>, IndexError> {
        let inner = self.inner.scan(query, batch_size).await?;
        Ok(Box::new(FlakyScan {
            inner,
            batches: 0,
            failures: self.failures.clone(),
        }))
    }
}

#[async_trait]
impl PostScan for FlakyScan {
    fn total(&self) -> u64 {
        self.inner.total()
    }

    async fn next_batch(&mut self, batch: &mut Vec<Post>) -> Result<bool, IndexError> {
        self.batches += 1;
        if self.batches == 2 && take_one(&self.failures) {
            return Err(IndexError::new(
                IndexErrorKind::Unavailable,
                "reading batch 2 (injected)",
            ));
        }
        self.inner.next_batch(batch).await
    }

    async fn close(self: Box<Self>) -> Result<(), IndexError> {
        self.inner.close().await
    }
}

fn take_one(failures: &AtomicU32) -> bool {
    failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// Fails the second part of an upload while `failures` lasts.
#[derive(Debug)]
struct FlakyStore {
    inner: Arc<dyn ObjectStore>,
    failures: Arc<AtomicU32>,
}

struct FlakyUpload {
    inner: Box<dyn MultipartUpload>,
    parts: u32,
    failures: Arc<AtomicU32>,
}

#[async_trait]
impl ObjectStore for FlakyStore {
    async fn start_upload(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        let inner = self.inner.start_upload(key, content).await?;
        Ok(Box::new(FlakyUpload {
            inner,
            parts: 0,
            failures: self.failures.clone(),
        }))
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
}

#[async_trait]
impl MultipartUpload for FlakyUpload {
    fn part_size(&self) -> usize {
        self.inner.part_size()
    }

    async fn upload_part(&mut self, part: Bytes) -> Result<(), StoreError> {
        self.parts += 1;
        if self.parts == 2 && take_one(&self.failures) {
            return Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "uploading part 2 (injected)",
            ));
        }
        self.inner.upload_part(part).await
    }

    async fn complete(self: Box<Self>) -> Result<StoredObject, StoreError> {
        self.inner.complete().await
    }

    async fn abort(self: Box<Self>) -> Result<(), StoreError> {
        self.inner.abort().await
    }
}

async fn exported_ids(app: &TestApp, token: &str) -> (u64, Vec<String>) {
    let total = app.search(token, &selective()).await["TotalResults"]
        .as_u64()
        .unwrap();
    let (code, started) = app
        .post(
            "/download-request",
            token,
            json!({"type": "direct", "searchCriteria": selective(), "columns": ["uuid"]}),
        )
        .await;
    assert_eq!(code, 200, "{started}");
    let status = app
        .wait_finished(token, started["executionArn"].as_str().unwrap(), POLL)
        .await;
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    let (_, _, body) = app.download(status["reportURL"].as_str().unwrap()).await;
    (
        total,
        csv_rows(&body)
            .iter()
            .map(|row| row[0].to_owned())
            .collect(),
    )
}

fn assert_exact(total: u64, ids: &[String]) {
    assert_eq!(ids.len() as u64, total, "rows equal the search total");
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "no post twice"
    );
}

#[tokio::test]
async fn a_search_batch_that_fails_once_is_retried_into_an_exact_file() {
    let failures = Arc::new(AtomicU32::new(1));
    let injected = failures.clone();
    let app = TestApp::spawn_with(move |config| {
        config.index_layer = Some(Arc::new(move |inner| {
            Arc::new(FlakyIndex {
                inner,
                failures: injected.clone(),
            }) as Arc<dyn SearchIndex>
        }));
        config.export.batch_size = NonZeroUsize::new(20).unwrap();
    })
    .await;
    let token = app.token("flaky-index@example.com").await;
    let (total, ids) = exported_ids(&app, &token).await;
    assert_eq!(failures.load(Ordering::SeqCst), 0, "the fault was injected");
    assert_exact(total, &ids);
}

#[tokio::test]
async fn a_part_upload_that_fails_once_is_retried_into_an_exact_file() {
    let failures = Arc::new(AtomicU32::new(1));
    let injected = failures.clone();
    let app = TestApp::spawn_with(move |config| {
        config.store_layer = Some(Arc::new(move |inner| {
            Arc::new(FlakyStore {
                inner,
                failures: injected.clone(),
            }) as Arc<dyn ObjectStore>
        }));
        config.part_size = Some(1024);
    })
    .await;
    let token = app.token("flaky-store@example.com").await;
    let (total, ids) = exported_ids(&app, &token).await;
    assert_eq!(failures.load(Ordering::SeqCst), 0, "the fault was injected");
    assert_exact(total, &ids);
}

#[tokio::test]
async fn a_client_that_leaves_before_delivery_does_not_fail_the_export() {
    let app = TestApp::spawn().await;
    let token = app.token("leaver@example.com").await;
    let mut socket = app.connect(&token).await;
    let arn = app.start_export(&token, "push", &selective()).await;
    socket.open(&arn).await;
    socket.0.close(None).await.unwrap();
    drop(socket);
    let status = app.wait_finished(&token, &arn, POLL).await;
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    let (code, _, body) = app.download(status["reportURL"].as_str().unwrap()).await;
    assert_eq!(code, 200);
    assert!(!csv_rows(&body).is_empty());
}

/// An index whose scans fail permanently with a message full of internals.
#[derive(Debug)]
struct LeakyIndex(Arc<dyn SearchIndex>);

const INTERNAL_ARN: &str = "arn:aws:iam::123456789012:role/sde-dev-generate-csv";
const INTERNAL_URL: &str = "https://vpc-sde-dev-abc123.eu-west-1.es.amazonaws.com:443/posts";

#[async_trait]
impl SearchIndex for LeakyIndex {
    async fn search(&self, query: &PostQuery, page: PageRequest) -> Result<SearchPage, IndexError> {
        self.0.search(query, page).await
    }

    async fn scan(&self, _: &PostQuery, _: NonZeroUsize) -> Result<Box<dyn PostScan>, IndexError> {
        Err(IndexError::new(
            IndexErrorKind::Rejected,
            format!("opening a scroll on {INTERNAL_URL} as {INTERNAL_ARN}"),
        ))
    }
}

#[tokio::test]
async fn a_failure_shows_its_owner_a_reason_never_the_arns_and_urls_of_its_cause() {
    let app = TestApp::spawn_with(|config| {
        config.index_layer = Some(Arc::new(|index| {
            Arc::new(LeakyIndex(index)) as Arc<dyn SearchIndex>
        }));
    })
    .await;
    let token = app.token("ada@example.com").await;
    let leaks = |text: &str| text.contains("arn:aws") || text.contains("amazonaws.com");

    let arn = app.start_export(&token, "direct", &selective()).await;
    let status = app.wait_finished(&token, &arn, POLL).await;
    assert_eq!(status["status"], "FAILED");
    let reason = status["error"].as_str().unwrap();
    assert!(!reason.is_empty() && !leaks(reason), "{status}");

    let mut socket = app.connect(&token).await;
    let arn = app.start_export(&token, "push", &selective()).await;
    socket.open(&arn).await;
    let frame = socket
        .next_frame(Duration::from_secs(30))
        .await
        .expect("an error frame");
    assert_eq!(frame["error"], reason, "{frame}");

    let arn = app.start_export(&token, "email", &selective()).await;
    app.wait_finished(&token, &arn, POLL).await;
    let mail = app.outbox();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains(reason), "{}", mail[0]);
    assert!(!leaks(&mail[0]), "{}", mail[0]);
}
