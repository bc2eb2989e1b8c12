//! The existing React frontend (ScottLogic's search-data-exports-frontend) replayed against both
//! hosts with its exact requests: the bodies `requestCreator.js` builds (`"type": "post"`, and the
//! earlier `{"field": "all", "value": …}` terms), the ID token bare in `Authorization` as AWS
//! Amplify sends it, `exportResults.js`'s three delivery types, `executionPoller.js`'s polling of
//! `/report-status`, and `websocket.js`'s `OpenConnection` message — on a socket with the token in
//! its URL, and on one without a token where the deployment opts in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::hosts::{Call, Host, HostKind, PushSocket};
use common::{TestApp, csv_rows};
use serde_json::{Value, json};
use std::time::Duration;

const TERM: &str = "#aurora";

/// `createRequest("post", 10, page, value)`, in the shape of the current frontend or of its
/// earlier releases (which name the searched field).
fn search_request(page: u32, earlier: bool) -> Value {
    let term = if earlier {
        json!({"field": "all", "value": TERM})
    } else {
        json!({"value": TERM})
    };
    json!({"type": "post", "results": 10, "page": page, "search": [term]})
}

/// `executionPoller`: POST `/report-status` every 500 ms (scaled down here) until the status is
/// no longer RUNNING; resolves with the `reportURL`.
async fn poll(host: &Host<'_>, token: &str, arn: &str) -> Value {
    for _ in 0..600 {
        let answer = host
            .call(&Call::post(
                "/report-status",
                token,
                &json!({"executionArn": arn}),
            ))
            .await;
        assert_eq!(answer.status, 200, "{:?}: {}", host.kind, answer.body);
        if answer.body["status"] != "RUNNING" {
            return answer.body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{arn} still running");
}

/// `exportResults`: POST `/download-request` with `{type, searchCriteria}`; the frontend reads
/// only `executionArn`.
async fn export(host: &Host<'_>, token: &str, delivery: &str, criteria: &Value) -> String {
    let answer = host
        .call(&Call::post(
            "/download-request",
            token,
            &json!({"type": delivery, "searchCriteria": criteria}),
        ))
        .await;
    assert_eq!(
        answer.status, 200,
        "{:?} {delivery}: {}",
        host.kind, answer.body
    );
    answer.body["executionArn"]
        .as_str()
        .expect("an executionArn")
        .to_owned()
}

async fn rows_at(app: &TestApp, url: &str) -> u64 {
    let (status, _, body) = app.download(url).await;
    assert_eq!(status, 200, "downloading {url}");
    csv_rows(&body).len() as u64
}

/// `websocket.js`: open the socket, send `OpenConnection` (its `taskToken` is undefined, so
/// `JSON.stringify` leaves it out), and take the URL from the first frame.
async fn push_url(socket: &mut PushSocket<'_>, arn: &str) -> String {
    socket
        .send_text(&json!({"action": "OpenConnection", "executionArn": arn}).to_string())
        .await;
    let frame = socket
        .next_frame(Duration::from_secs(60))
        .await
        .expect("a frame");
    let url = frame["reportURL"].as_str().expect("reportURL").to_owned();
    assert_eq!(
        frame["data"]["reportURL"], url,
        "releases of websocket.js that read data.reportURL find it too"
    );
    url
}

#[tokio::test]
async fn the_frontends_exact_requests_search_page_and_export_on_both_hosts() {
    let app = TestApp::spawn_with(|config| config.allow_anonymous_push = true).await;
    let token = app.token("ada@example.com").await;
    for (mails, host) in (app.outbox().len()..).zip(Host::both(&app)) {
        let kind = host.kind;
        // Search, in the current and the earlier request shapes, then page 2.
        let first = host
            .call(&Call::post("/search", &token, &search_request(0, false)))
            .await;
        assert_eq!(first.status, 200, "{kind:?}: {}", first.body);
        let total = first.body["TotalResults"].as_u64().unwrap();
        assert!(total > 10, "{kind:?}: {TERM} spans several pages ({total})");
        assert_eq!(first.body["ResultsCount"], 10);
        assert!(
            first.body["Results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|hit| hit["Type"] == "posts")
        );
        let earlier = host
            .call(&Call::post("/search", &token, &search_request(0, true)))
            .await;
        assert_eq!(
            earlier, first,
            "{kind:?}: field \"all\" searches every field"
        );
        let second = host
            .call(&Call::post("/search", &token, &search_request(1, false)))
            .await;
        assert_eq!(second.status, 200);
        assert_eq!(second.body["TotalResults"], total);
        assert_ne!(
            second.body["Results"][0]["uuid"], first.body["Results"][0]["uuid"],
            "{kind:?}: page 2 is another page"
        );

        // Direct: poll until done, then `window.location.assign(reportURL)`.
        let criteria = search_request(1, false);
        let arn = export(&host, &token, "direct", &criteria).await;
        let status = poll(&host, &token, &arn).await;
        assert_eq!(status["status"], "SUCCEEDED", "{kind:?}: {status}");
        let url = status["reportURL"].as_str().unwrap();
        assert_eq!(
            rows_at(&app, url).await,
            total,
            "{kind:?}: every row, not one page"
        );

        // Email: the frontend only checks that an executionArn came back.
        let arn = export(&host, &token, "email", &criteria).await;
        assert_eq!(poll(&host, &token, &arn).await["status"], "SUCCEEDED");
        let outbox = app.outbox();
        assert_eq!(outbox.len(), mails + 1, "{kind:?}: one email");
        assert!(outbox.iter().any(|m| m.contains("To: ada@example.com")));

        // Push, with the ID token in the connect URL (the README's one-line change).
        let arn = export(&host, &token, "push", &criteria).await;
        let mut socket = host.connect(Some(&token)).await.expect("connected");
        let url = push_url(&mut socket, &arn).await;
        assert_eq!(rows_at(&app, &url).await, total, "{kind:?}: pushed file");

        // Push from the unchanged frontend: no token, where the deployment opts in.
        let arn = export(&host, &token, "push", &criteria).await;
        let mut socket = host.connect(None).await.expect("connected without a token");
        let url = push_url(&mut socket, &arn).await;
        assert_eq!(rows_at(&app, &url).await, total, "{kind:?}: anonymous push");

        // An anonymous socket cannot follow a direct export, even knowing its ARN.
        let direct = export(&host, &token, "direct", &criteria).await;
        socket
            .send_text(&json!({"action": "OpenConnection", "executionArn": direct}).to_string())
            .await;
        let frame = socket.next_frame(Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            frame,
            json!({"error": "no such export", "executionArn": direct}),
            "{kind:?}"
        );
        poll(&host, &token, &direct).await;
    }
}

#[tokio::test]
async fn a_socket_without_a_token_is_refused_unless_the_deployment_opts_in() {
    let app = TestApp::spawn().await;
    let token = app.token("ada@example.com").await;
    for host in Host::both(&app) {
        assert_eq!(host.connect(None).await.err(), Some(401), "{:?}", host.kind);
        assert!(host.connect(Some(&token)).await.is_ok(), "{:?}", host.kind);
        let bearer = format!("Bearer {token}");
        assert!(
            host.connect(Some(&bearer)).await.is_ok(),
            "{:?}: Bearer in the URL",
            host.kind
        );
    }
    assert_eq!(HostKind::Local, Host::both(&app)[0].kind);
}
