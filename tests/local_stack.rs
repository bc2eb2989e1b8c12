//! End-to-end tests of the local stack: each delivery path, the original frontend's protocol,
//! concurrency, failures, auth and bad input — all through the public API on port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use async_trait::async_trait;
use bytes::Bytes;
use common::{TestApp, csv_rows};
use sde_core::{
    ContentInfo, MultipartUpload, ObjectKey, ObjectStore, SignedUrl, StoreError, StoreErrorKind,
    StoredObject,
};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(50);
const FRAME_WAIT: Duration = Duration::from_secs(30);

fn selective() -> Value {
    json!({"type": "posts", "results": 10, "page": 0, "search": [{"value": sde_dataimport::generate::SELECTIVE_TAG}]})
}

fn url_of(status: &Value) -> String {
    status["reportURL"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_direct_export_delivers_exactly_the_rows_of_the_search() {
    let app = TestApp::spawn().await;
    let token = app.token("ada@example.com").await;
    for criteria in [selective(), json!({"search": []})] {
        let total = app.search(&token, &criteria).await["TotalResults"]
            .as_u64()
            .unwrap();
        assert!(total > 0);
        let arn = app.start_export(&token, "direct", &criteria).await;
        let status = app.wait_finished(&token, &arn, POLL).await;
        assert_eq!(status["status"], "SUCCEEDED", "{status}");
        assert_eq!(status["rowsWritten"], json!(total));
        let (code, headers, body) = app.download(&url_of(&status)).await;
        assert_eq!(code, 200);
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=\"posts-")
        );
        assert_eq!(csv_rows(&body).len() as u64, total);
    }
}

#[tokio::test]
async fn an_email_export_mails_the_owner_a_link_to_exactly_the_rows_of_the_search() {
    let app = TestApp::spawn().await;
    let token = app.token("grace@example.com").await;
    let total = app.search(&token, &selective()).await["TotalResults"]
        .as_u64()
        .unwrap();
    let arn = app.start_export(&token, "email", &selective()).await;
    let status = app.wait_finished(&token, &arn, POLL).await;
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    let url = url_of(&status);
    let mail = app.outbox();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("To: grace@example.com"), "{}", mail[0]);
    assert!(mail[0].contains("Subject: Your export is ready"));
    assert!(
        mail[0].contains(&url),
        "the mail carries the link: {}",
        mail[0]
    );
    let (_, _, body) = app.download(&url).await;
    assert_eq!(csv_rows(&body).len() as u64, total);
}

#[tokio::test]
async fn a_push_export_reaches_a_client_that_connected_before_the_file_was_ready() {
    let app = TestApp::spawn().await;
    let token = app.token("linus@example.com").await;
    let total = app.search(&token, &selective()).await["TotalResults"]
        .as_u64()
        .unwrap();
    let mut socket = app.connect(&token).await;
    let arn = app.start_export(&token, "push", &selective()).await;
    socket.open(&arn).await;
    let frame = socket.next_frame(FRAME_WAIT).await.expect("a frame");
    let url = frame["reportURL"].as_str().expect("reportURL").to_owned();
    let (_, _, body) = app.download(&url).await;
    assert_eq!(csv_rows(&body).len() as u64, total);
    assert_eq!(
        socket.next_frame(Duration::from_millis(300)).await,
        None,
        "the URL is sent once"
    );
    assert_eq!(
        app.wait_finished(&token, &arn, POLL).await["status"],
        "SUCCEEDED"
    );
}

#[tokio::test]
async fn a_push_export_reaches_a_client_that_connects_after_the_file_is_ready() {
    let app = TestApp::spawn().await;
    let token = app.token("barbara@example.com").await;
    let arn = app.start_export(&token, "push", &selective()).await;
    // The file is written, and the execution waits for its client.
    for _ in 0..600 {
        let status = app.status(&token, &arn).await;
        if status["rowsWritten"].is_u64() && status["rowsWritten"] == status["totalRows"] {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.status(&token, &arn).await["status"], "RUNNING");
    let mut socket = app.connect(&token).await;
    // The original frontend also sends the task token it was given; it is not needed.
    socket
        .send(json!({"action": "OpenConnection", "executionArn": arn, "taskToken": ""}))
        .await;
    let frame = socket.next_frame(FRAME_WAIT).await.expect("a frame");
    assert!(
        frame["reportURL"]
            .as_str()
            .is_some_and(|u| u.starts_with(&app.url)),
        "{frame}"
    );
    assert_eq!(
        app.wait_finished(&token, &arn, POLL).await["status"],
        "SUCCEEDED"
    );
}

#[tokio::test]
async fn a_client_speaking_the_original_frontends_protocol_gets_its_file() {
    let app = TestApp::spawn().await;
    let token = app.token("original@example.com").await;
    let criteria = json!({"type": "posts", "results": 10, "page": 0,
        "search": [{"value": sde_dataimport::generate::SELECTIVE_TAG}, {"dateRange": ["2019-01-01T00:00:00Z", "2019-12-31T00:00:00Z"]}]});
    let total = app.search(&token, &criteria).await["TotalResults"]
        .as_u64()
        .unwrap();
    let (code, started) = app
        .post(
            "/download-request",
            &token,
            json!({"type": "direct", "searchCriteria": criteria}),
        )
        .await;
    assert_eq!(code, 200);
    let arn = started["executionArn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:states:") && arn.contains(":execution:"),
        "{arn}"
    );
    let status = app
        .wait_finished(&token, arn, Duration::from_millis(500))
        .await;
    assert_eq!(status["status"], "SUCCEEDED");
    let (_, _, body) = app.download(&url_of(&status)).await;
    assert_eq!(csv_rows(&body).len() as u64, total);
}

#[tokio::test]
async fn fifty_users_pushing_at_once_each_receive_exactly_their_own_file() {
    let app = Arc::new(TestApp::spawn().await);
    let mut runs = Vec::new();
    for user in 0..50 {
        let app = app.clone();
        runs.push(tokio::spawn(async move {
            let token = app.token(&format!("user{user}@example.com")).await;
            let mut socket = app.connect(&token).await;
            let arn = app.start_export(&token, "push", &selective()).await;
            socket.open(&arn).await;
            let frame = socket
                .next_frame(Duration::from_secs(120))
                .await
                .expect("a frame");
            let url = frame["reportURL"].as_str().expect("reportURL").to_owned();
            assert_eq!(
                socket.next_frame(Duration::from_millis(200)).await,
                None,
                "one URL per client"
            );
            let export_id = arn.rsplit(':').next().unwrap().to_owned();
            (export_id, url)
        }));
    }
    let mut urls = HashSet::new();
    for run in runs {
        let (export_id, url) = run.await.unwrap();
        assert!(
            url.contains(&export_id),
            "a client received another execution's file: {url}"
        );
        assert!(urls.insert(url));
    }
    assert_eq!(urls.len(), 50);
}

/// An object store whose uploads always fail for good.
#[derive(Debug)]
struct BrokenStore(Arc<dyn ObjectStore>);

struct BrokenUpload(Box<dyn MultipartUpload>);

#[async_trait]
impl ObjectStore for BrokenStore {
    async fn start_upload(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        Ok(Box::new(BrokenUpload(
            self.0.start_upload(key, content).await?,
        )))
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
        ttl: Duration,
    ) -> Result<SignedUrl, StoreError> {
        self.0.presign_get(key, content, ttl).await
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        self.0.exists(key).await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
}

#[async_trait]
impl MultipartUpload for BrokenUpload {
    fn part_size(&self) -> usize {
        self.0.part_size()
    }

    async fn upload_part(&mut self, _: Bytes) -> Result<(), StoreError> {
        Err(StoreError::new(StoreErrorKind::Denied, "uploading a part"))
    }

    async fn complete(self: Box<Self>) -> Result<StoredObject, StoreError> {
        self.0.complete().await
    }

    async fn abort(self: Box<Self>) -> Result<(), StoreError> {
        self.0.abort().await
    }
}

#[tokio::test]
async fn a_permanent_export_failure_is_reported_on_every_channel_and_leaves_no_file() {
    let layer: sde_local::StoreLayer =
        Arc::new(|store| Arc::new(BrokenStore(store)) as Arc<dyn ObjectStore>);
    let app = TestApp::spawn_with(TestApp::with_store_layer(layer)).await;
    let token = app.token("unlucky@example.com").await;

    let arn = app.start_export(&token, "direct", &selective()).await;
    let status = app.wait_finished(&token, &arn, POLL).await;
    assert_eq!(status["status"], "FAILED");
    assert_eq!(status["reportURL"], "");
    let reason = sde_handlers::task_failure::reason("Export.Failed");
    assert_eq!(
        status["error"], reason,
        "the owner sees a reason, not the cause"
    );

    let mut socket = app.connect(&token).await;
    let arn = app.start_export(&token, "push", &selective()).await;
    socket.open(&arn).await;
    let frame = socket.next_frame(FRAME_WAIT).await.expect("an error frame");
    assert_eq!(frame["executionArn"], json!(arn));
    assert_eq!(frame["error"], reason, "{frame}");
    assert_eq!(
        app.wait_finished(&token, &arn, POLL).await["status"],
        "FAILED"
    );

    let arn = app.start_export(&token, "email", &selective()).await;
    assert_eq!(
        app.wait_finished(&token, &arn, POLL).await["status"],
        "FAILED"
    );
    let mail = app.outbox();
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].contains("Subject: Your export failed")
            && mail[0].contains("To: unlucky@example.com")
    );

    assert_eq!(
        app.stored_files(),
        Vec::<std::path::PathBuf>::new(),
        "no file is left behind"
    );
}

#[tokio::test]
async fn calls_without_a_valid_token_are_refused_with_401() {
    let app = TestApp::spawn().await;
    let token = app.token("eve@example.com").await;
    let criteria = json!({"search": []});
    let no_token = app
        .http
        .post(format!("{}/search", app.url))
        .json(&criteria)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    assert_eq!(no_token.headers()["www-authenticate"], "Bearer");
    let mut forged = token.clone();
    forged.insert(forged.len() - 3, 'A');
    forged.truncate(token.len());
    for bad in [
        "not-a-jwt",
        forged.as_str(),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    ] {
        let (code, body) = app.post("/search", bad, criteria.clone()).await;
        assert_eq!(code, 401, "{bad}: {body}");
        assert!(body["message"].is_string());
    }
    let ws =
        tokio_tungstenite::connect_async(format!("{}/ws", app.url.replacen("http", "ws", 1))).await;
    assert!(ws.is_err(), "a WebSocket without a token is refused");
}

#[tokio::test]
async fn another_users_execution_is_not_found() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice@example.com").await;
    let mallory = app.token("mallory@example.com").await;
    let arn = app.start_export(&alice, "push", &selective()).await;
    let (code, body) = app
        .post("/report-status", &mallory, json!({"executionArn": arn}))
        .await;
    assert_eq!((code, body), (404, json!({"message": "no such export"})));
    let mut socket = app.connect(&mallory).await;
    socket.open(&arn).await;
    let frame = socket.next_frame(FRAME_WAIT).await.expect("an error frame");
    assert_eq!(frame["error"], "no such export");
    assert!(frame.get("reportURL").is_none());
    // Alice still gets her file.
    let mut socket = app.connect(&alice).await;
    socket.open(&arn).await;
    assert!(socket.next_frame(FRAME_WAIT).await.unwrap()["reportURL"].is_string());
}

#[tokio::test]
async fn bad_requests_get_a_4xx_that_says_what_is_wrong() {
    let app = TestApp::spawn().await;
    let token = app.token("typo@example.com").await;
    let raw = |path: &str, content_type: &str, body: &str| {
        app.http
            .post(format!("{}{path}", app.url))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
    };
    let malformed = raw("/search", "application/json", "{\"search\": [")
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert!(
        malformed.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body")
    );
    let wrong_type = raw("/search", "text/plain", "{}").await.unwrap();
    assert_eq!(wrong_type.status(), 415);
    let cases = [
        (
            "/download-request",
            json!({"type": "fax", "searchCriteria": {}}),
            "unknown type \"fax\"",
        ),
        (
            "/download-request",
            json!({"type": "direct"}),
            "\"searchCriteria\" is required",
        ),
        (
            "/download-request",
            json!({"type": "direct", "searchCriteria": {}, "format": "xlsx"}),
            "unknown format",
        ),
        (
            "/search",
            json!({"page": -1}),
            "\"page\" must be a whole number",
        ),
        (
            "/search",
            json!({"results": 100000}),
            "\"results\" must be a whole number between 1 and 1000",
        ),
        ("/report-status", json!({}), "executionArn"),
        (
            "/report-status",
            json!({"executionArn": "arn:aws:states:us-east-1:1:execution:x:nope"}),
            "no such export",
        ),
    ];
    for (path, body, expected) in cases {
        let (code, answer) = app.post(path, &token, body.clone()).await;
        assert!((400..500).contains(&code), "{path} {body} gave {code}");
        assert!(
            answer["message"].as_str().unwrap().contains(expected),
            "{path} {body} gave {answer}"
        );
    }
}

#[tokio::test]
async fn finished_exports_survive_a_restart_and_interrupted_ones_read_failed() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::spawn_in(dir.path().to_path_buf(), |_| {}).await;
    let token = app.token("restart@example.com").await;
    let done = app.start_export(&token, "direct", &selective()).await;
    let status = app.wait_finished(&token, &done, POLL).await;
    let url = url_of(&status);
    // A push export with no client waits for one; the stop cuts it short.
    let waiting = app.start_export(&token, "push", &selective()).await;
    let old_url = app.url.clone();
    app.shutdown().await;

    let app = TestApp::spawn_in(dir.path().to_path_buf(), |config| config.seed_posts = 0).await;
    let token = app.token("restart@example.com").await;
    let status = app.status(&token, &done).await;
    assert_eq!(status["status"], "SUCCEEDED");
    assert_eq!(url_of(&status), url);
    // The signing key survived too; the test's second stack listens on another port.
    let (code, _, body) = app.download(&url.replacen(&old_url, &app.url, 1)).await;
    assert_eq!(code, 200);
    assert!(!csv_rows(&body).is_empty());
    let status = app.status(&token, &waiting).await;
    assert_eq!(status["status"], "FAILED");
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("stopped while this export was running")
    );
}

#[tokio::test]
async fn tampered_download_links_are_refused() {
    let app = TestApp::spawn().await;
    let token = app.token("mallet@example.com").await;
    let arn = app.start_export(&token, "direct", &selective()).await;
    let url = url_of(&app.wait_finished(&token, &arn, POLL).await);
    let tampered = url.replace("expires=", "expires=9");
    assert_eq!(app.download(&tampered).await.0, 403);
    let other = url.replace(".csv?", ".ndjson?");
    assert_eq!(app.download(&other).await.0, 403);
}

// Several workers, so the fifty requests are served in parallel, not one after another.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_by_one_user_start_exactly_the_limit_and_429_the_rest() {
    let app = TestApp::spawn_with(|config| {
        config.limits.max_running_per_owner = 3;
        // Unscaled, a push export waits 15 minutes for its client: longer than this test.
        config.time_scale = 1.0;
    })
    .await;
    let busy = app.token("busy@example.com").await;
    // Push exports without a client stay running (they wait for one), holding their slots.
    let push = json!({"type": "push", "searchCriteria": selective()});
    let answers = futures::future::join_all(
        (0..50).map(|_| app.post("/download-request", &busy, push.clone())),
    )
    .await;
    let started: Vec<String> = answers
        .iter()
        .filter(|(code, _)| *code == 200)
        .map(|(_, body)| body["executionArn"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(started.len(), 3, "{answers:?}");
    for (code, body) in answers.iter().filter(|(code, _)| *code != 200) {
        assert_eq!(*code, 429, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("the limit is 3"),
            "{body}"
        );
    }
    let other = app.token("other@example.com").await;
    app.start_export(&other, "direct", &selective()).await;

    // One export ends (its client connects and takes the file): its slot is free again, and
    // only that one.
    let mut socket = app.connect(&busy).await;
    socket.open(&started[0]).await;
    let frame = socket.next_frame(FRAME_WAIT).await.expect("a frame");
    assert!(frame["reportURL"].is_string(), "{frame}");
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    loop {
        let (code, body) = app.post("/download-request", &busy, push.clone()).await;
        if code == 200 {
            break;
        }
        assert_eq!(code, 429, "{body}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ended export's slot was never given back"
        );
        tokio::time::sleep(POLL).await;
    }
    let (code, body) = app.post("/download-request", &busy, push).await;
    assert_eq!(code, 429, "{body}");
}

#[tokio::test]
async fn an_expired_token_is_refused_with_401() {
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    let token = app.token("late@example.com").await;
    // The same claims and key as a real development token, an hour past expiry.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let mut claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    claims["iat"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let pem = std::fs::read(app.data_dir.join("secrets/dev-issuer-key.pem")).unwrap();
    let mut expired_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    expired_header.kid = header.kid;
    let expired = jsonwebtoken::encode(
        &expired_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap();
    let (code, body) = app.post("/search", &expired, json!({})).await;
    assert_eq!(code, 401, "{body}");
    claims["exp"] = json!(now + 3600);
    let fresh = jsonwebtoken::encode(
        &{
            let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            h.kid = jsonwebtoken::decode_header(&token).unwrap().kid;
            h
        },
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap();
    assert_eq!(
        app.post("/search", &fresh, json!({})).await.0,
        200,
        "the same token unexpired is accepted"
    );
}

/// Whether a browser on `origin` may make a JSON POST: the preflight's answer names that origin
/// or `*` (a browser refuses an answer naming another origin).
async fn browser_may_call(app: &TestApp, origin: &str) -> bool {
    let allowed = allowed_origin(app, origin).await;
    allowed.as_deref() == Some(origin) || allowed.as_deref() == Some("*")
}

/// The origin the preflight a browser on `origin` sends before a JSON POST is answered with.
async fn allowed_origin(app: &TestApp, origin: &str) -> Option<String> {
    let response = app
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/search", app.url))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|value| value.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn by_default_only_the_stacks_own_page_may_call_it_from_a_browser() {
    let mut app = TestApp::spawn_with(|config| config.seed_posts = 0).await;
    assert!(browser_may_call(&app, &app.url).await);
    assert!(!browser_may_call(&app, "https://evil.example").await);
    app.shutdown().await;

    let mut app = TestApp::spawn_with(|config| {
        config.seed_posts = 0;
        config.cors_origin = Some("https://app.example.com".into());
    })
    .await;
    assert!(browser_may_call(&app, "https://app.example.com").await);
    assert!(!browser_may_call(&app, &app.url).await);
    app.shutdown().await;

    let mut app = TestApp::spawn_with(|config| {
        config.seed_posts = 0;
        config.cors_origin = Some("*".into());
    })
    .await;
    assert!(browser_may_call(&app, "https://anywhere.example").await);
    app.shutdown().await;
}

#[tokio::test]
async fn listening_beyond_loopback_needs_to_be_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path().to_path_buf());
    config.seed_posts = 0;
    config.addr = "0.0.0.0:0".parse().unwrap();
    let refused = sde_local::start(config.clone()).await.unwrap_err();
    assert!(
        refused.to_string().contains("--allow-remote"),
        "{refused:#}"
    );

    config.allow_remote = true;
    let stack = sde_local::start(config).await.unwrap();
    assert!(stack.addr.ip().is_unspecified());
    stack.shutdown().await.unwrap();
}

/// How the server ends `socket`: the close frame's code and reason, or `None` if it stays open
/// for `within`.
async fn close_of(socket: &mut common::Socket, within: Duration) -> Option<(u16, String)> {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, socket.0.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                return Some((u16::from(frame.code), frame.reason.to_string()));
            }
            Ok(Some(Ok(Message::Close(None))) | None) => return Some((1005, String::new())),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(error))) => panic!("the socket failed instead of closing: {error}"),
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_push_socket_closes_when_idle_and_when_its_token_expires() {
    let app = TestApp::spawn_with(|config| {
        config.seed_posts = 0;
        config.sockets.idle_timeout = Duration::from_millis(600);
    })
    .await;
    let token = app.token("idle@example.com").await;
    let mut socket = app.connect(&token).await;
    // Activity keeps it open past the idle timeout.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        socket.send(json!({"action": "ping"})).await;
    }
    assert_eq!(
        close_of(&mut socket, Duration::from_millis(100)).await,
        None
    );
    assert_eq!(
        close_of(&mut socket, Duration::from_secs(5)).await,
        Some((1001, "idle".to_owned()))
    );

    let app = TestApp::spawn_with(|config| config.seed_posts = 0).await;
    let issuer = app.stack.as_ref().unwrap().state.issuer.clone().unwrap();
    let short_lived = issuer
        .issue("brief@example.com", Duration::from_secs(2))
        .unwrap();
    let mut socket = app.connect(&short_lived).await;
    assert_eq!(
        close_of(&mut socket, Duration::from_secs(6)).await,
        Some((1008, "the sign-in token expired".to_owned()))
    );
}

#[tokio::test]
async fn a_user_may_hold_only_so_many_push_sockets_at_once() {
    let app = TestApp::spawn_with(|config| {
        config.seed_posts = 0;
        config.sockets.per_user = 2;
    })
    .await;
    let token = app.token("sockets@example.com").await;
    let ws_url = |token: &str| format!("{}/ws?token={token}", app.url.replacen("http", "ws", 1));
    let first = app.connect(&token).await;
    let _second = app.connect(&token).await;
    match tokio_tungstenite::connect_async(ws_url(&token)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
        }
        other => panic!("a third socket was not refused with 429: {other:?}"),
    }
    // Another user is not affected; a closed socket gives its slot back.
    let _other = app.connect(&app.token("other@example.com").await).await;
    drop(first);
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok((socket, _)) = tokio_tungstenite::connect_async(ws_url(&token)).await {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        reopened.is_some(),
        "the closed socket's slot was not given back"
    );
}

#[tokio::test]
async fn finished_exports_are_forgotten_after_the_file_lifetime_and_running_ones_kept() {
    let app = TestApp::spawn_with(|config| config.retention = Duration::from_secs(1)).await;
    let state = &app.stack.as_ref().unwrap().state;
    let token = app.token("forgetful@example.com").await;
    let done = app.start_export(&token, "direct", &selective()).await;
    let url = url_of(&app.wait_finished(&token, &done, POLL).await);
    let mut socket = app.connect(&token).await;
    let pushed = app.start_export(&token, "push", &selective()).await;
    socket.open(&pushed).await;
    assert!(socket.next_frame(FRAME_WAIT).await.unwrap()["reportURL"].is_string());
    // A push export nobody connects to waits for a client: running, however long.
    let waiting = app.start_export(&token, "push", &selective()).await;

    let mut forgotten = false;
    for _ in 0..100 {
        let (code, _) = app
            .post("/report-status", &token, json!({"executionArn": done}))
            .await;
        let (pushed_code, _) = app
            .post("/report-status", &token, json!({"executionArn": pushed}))
            .await;
        if code == 404 && pushed_code == 404 {
            forgotten = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(forgotten, "finished exports are still known after 10 s");
    assert_eq!(app.download(&url).await.0, 410, "the file is gone");
    let records: Vec<_> = std::fs::read_dir(app.data_dir.join("executions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        records.len(),
        1,
        "only the running export's record: {records:?}"
    );
    assert!(records[0].ends_with(".json"));
    assert_eq!(
        app.status(&token, &waiting).await["status"],
        "RUNNING",
        "a running export is never forgotten"
    );
    // What remains is the running export's: its file waiting for a client, and its progress.
    assert_eq!(state.push_registry.len(), 1);
    assert_eq!(state.progress.len(), 1);
}

/// The export id (execution name) of an execution ARN.
fn id_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap()
}

#[tokio::test]
async fn the_export_list_shows_the_callers_own_exports_newest_first() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada-list@example.com").await;
    let bob = app.token("bob-list@example.com").await;
    let direct = app.start_export(&ada, "direct", &selective()).await;
    let url = url_of(&app.wait_finished(&ada, &direct, POLL).await);
    let push = app.start_export(&ada, "push", &selective()).await;
    let bobs = app.start_export(&bob, "direct", &selective()).await;

    let listed = app.exports(&ada).await;
    let ids: Vec<&str> = listed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id_of(&push), id_of(&direct)], "{listed:?}");
    let (newest, finished) = (&listed[0], &listed[1]);
    assert_eq!(newest["type"], "push");
    assert_eq!(newest["executionArn"], json!(push));
    assert_eq!(finished["status"], "SUCCEEDED");
    assert_eq!(finished["type"], "direct");
    assert_eq!(finished["reportURL"], json!(url));
    assert_eq!(
        finished["rows"],
        app.search(&ada, &selective()).await["TotalResults"]
    );
    assert!(finished["created"].is_string() && finished["finished"].is_string());

    let bobs_list = app.exports(&bob).await;
    assert_eq!(bobs_list.len(), 1);
    assert_eq!(bobs_list[0]["executionArn"], json!(bobs));
}

#[tokio::test]
async fn another_users_export_cannot_be_cancelled_or_deleted() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice-del@example.com").await;
    let mallory = app.token("mallory-del@example.com").await;
    let arn = app.start_export(&alice, "direct", &selective()).await;
    app.wait_finished(&alice, &arn, POLL).await;
    for id in [id_of(&arn), "no-such-export", "x_y"] {
        let (code, body) = app
            .call(reqwest::Method::DELETE, &format!("/exports/{id}"), &mallory)
            .await;
        assert_eq!(
            (code, body),
            (404, json!({"message": "no such export"})),
            "{id}"
        );
    }
    let status = app.status(&alice, &arn).await;
    assert_eq!(status["status"], "SUCCEEDED");
    assert_eq!(
        app.download(&url_of(&status)).await.0,
        200,
        "the file is still there"
    );
}

#[tokio::test]
async fn cancelling_a_running_export_aborts_it_leaves_no_file_tells_its_client_and_frees_its_slot()
{
    let app = TestApp::spawn_with(|config| {
        config.limits.max_running_per_owner = 1;
        // Unscaled, a push export waits 15 minutes for its client: it is still running when
        // cancelled.
        config.time_scale = 1.0;
    })
    .await;
    let token = app.token("canceller@example.com").await;
    let push = json!({"type": "push", "searchCriteria": selective()});
    let arn = app.start_export(&token, "push", &selective()).await;
    let (code, _) = app.post("/download-request", &token, push.clone()).await;
    assert_eq!(code, 429, "the one slot is held");
    // No client comes for it: it writes its file, then waits, running, for one.
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    while app.stored_files().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no file was written"
        );
        tokio::time::sleep(POLL).await;
    }

    let (code, body) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/exports/{}", id_of(&arn)),
            &token,
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (body["status"].clone(), body["cancelled"].clone()),
        (json!("ABORTED"), json!(true))
    );
    let status = app.status(&token, &arn).await;
    assert_eq!(status["status"], "ABORTED");
    assert_eq!(status["reportURL"], "");
    assert_eq!(
        app.stored_files(),
        Vec::<std::path::PathBuf>::new(),
        "no file is left"
    );
    let listed = app.exports(&token).await;
    assert_eq!(listed[0]["status"], "ABORTED");

    // The client that comes for it now is told it was cancelled.
    let mut socket = app.connect(&token).await;
    socket.open(&arn).await;
    let frame = socket.next_frame(FRAME_WAIT).await.expect("a frame");
    assert_eq!(frame, json!({"error": "cancelled", "executionArn": arn}));

    // The slot is given back: a new export can start.
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    loop {
        let (code, body) = app.post("/download-request", &token, push.clone()).await;
        if code == 200 {
            break;
        }
        assert_eq!(code, 429, "{body}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cancelled export's slot was never given back"
        );
        tokio::time::sleep(POLL).await;
    }
}

#[tokio::test]
async fn deleting_a_finished_export_removes_its_file_and_its_link_answers_410() {
    let app = TestApp::spawn().await;
    let token = app.token("tidy@example.com").await;
    let arn = app.start_export(&token, "direct", &selective()).await;
    let url = url_of(&app.wait_finished(&token, &arn, POLL).await);
    assert_eq!(app.download(&url).await.0, 200);

    let (code, body) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/exports/{}", id_of(&arn)),
            &token,
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (body["status"].clone(), body["cancelled"].clone()),
        (json!("SUCCEEDED"), json!(false))
    );
    assert_eq!(app.stored_files(), Vec::<std::path::PathBuf>::new());
    assert_eq!(app.download(&url).await.0, 410);
    let listed = app.exports(&token).await;
    assert_eq!(listed[0]["fileDeleted"], true);
    assert!(listed[0].get("reportURL").is_none(), "{}", listed[0]);
    // Deleting again is harmless.
    let (code, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/exports/{}", id_of(&arn)),
            &token,
        )
        .await;
    assert_eq!(code, 200);
}
