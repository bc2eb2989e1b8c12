//! One table of requests, good and hostile, sent to both hosts — the local stack over HTTP and
//! WebSocket, the Lambda functions through API Gateway events — which must answer each with the
//! same status and the same body. What differs between the hosts is only the transport; decoding,
//! refusing and answering exist once, in `sde-edge`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use common::hosts::{Answer, Call, Host};
use sde_edge::MAX_BODY_BYTES;
use sde_edge::ws::MAX_MESSAGE_BYTES;
use serde_json::{Value, json};
use std::time::Duration;

fn post_raw(path: &'static str, token: &str, content_type: &str, body: String) -> Call {
    Call {
        method: "POST",
        path,
        headers: vec![
            ("Authorization".into(), format!("Bearer {token}")),
            ("Content-Type".into(), content_type.into()),
        ],
        body: Some(body),
    }
}

/// A case: the request, the status both hosts must answer, and the start of the message.
struct Case {
    name: &'static str,
    call: Call,
    status: u16,
    message: Option<&'static str>,
}

fn case(name: &'static str, call: Call, status: u16, message: Option<&'static str>) -> Case {
    Case {
        name,
        call,
        status,
        message,
    }
}

#[tokio::test]
async fn both_hosts_answer_every_request_alike() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.com").await;
    let eve = app.token("eve@example.com").await;
    let search =
        json!({"type": "posts", "results": 5, "page": 0, "search": [{"value": "zeppelin"}]});
    let arn = app.start_export(&ada, "direct", &search).await;
    app.wait_finished(&ada, &arn, Duration::from_millis(20))
        .await;
    let unknown_arn = arn.replace(&arn[arn.len() - 8..], "00000000");
    // Call paths are static, as a route table's are.
    let adas_export: &'static str =
        Box::leak(format!("/exports/{}", arn.rsplit(':').next().unwrap()).into_boxed_str());

    let too_big = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX_BODY_BYTES));
    let cases = vec![
        case("a search", Call::post("/search", &ada, &search), 200, None),
        case(
            "a search as Bearer",
            post_raw("/search", &ada, "application/json", search.to_string()),
            200,
            None,
        ),
        case(
            "another type",
            Call::post("/search", &ada, &json!({"type": "users"})),
            400,
            Some("unsupported type \"users\""),
        ),
        case(
            "a page of none",
            Call::post("/search", &ada, &json!({"results": 0})),
            400,
            Some("\"results\" must be a whole number"),
        ),
        case(
            "a truncated body",
            post_raw("/search", &ada, "application/json", "{\"search\": [".into()),
            400,
            Some("invalid JSON body"),
        ),
        case(
            "a field of the wrong type",
            Call::post("/search", &ada, &json!({"search": "cats"})),
            400,
            Some("invalid JSON body at search: invalid type"),
        ),
        case(
            "a form body",
            post_raw(
                "/search",
                &ada,
                "application/x-www-form-urlencoded",
                "a=1".into(),
            ),
            415,
            Some("send the body as Content-Type: application/json"),
        ),
        case(
            "a body past the limit",
            post_raw("/search", &ada, "application/json", too_big),
            413,
            Some("the body is larger than"),
        ),
        case(
            "an export without a type",
            Call::post(
                "/download-request",
                &ada,
                &json!({"searchCriteria": search}),
            ),
            400,
            Some("\"type\" is required"),
        ),
        case(
            "an export by fax",
            Call::post(
                "/download-request",
                &ada,
                &json!({"type": "fax", "searchCriteria": search}),
            ),
            400,
            Some("unknown type \"fax\""),
        ),
        case(
            "an export without criteria",
            Call::post("/download-request", &ada, &json!({"type": "direct"})),
            400,
            Some("\"searchCriteria\" is required"),
        ),
        case(
            "an export in an unknown format",
            Call::post(
                "/download-request",
                &ada,
                &json!({"type": "direct", "searchCriteria": search, "format": "xlsx"}),
            ),
            400,
            None,
        ),
        case(
            "the status of an empty ARN",
            Call::post("/report-status", &ada, &json!({"executionArn": " "})),
            400,
            Some("\"executionArn\" must be the ARN"),
        ),
        case(
            "the status of an unknown export",
            Call::post(
                "/report-status",
                &ada,
                &json!({"executionArn": unknown_arn}),
            ),
            404,
            Some("no such export"),
        ),
        case(
            "the status of another user's export",
            Call::post("/report-status", &eve, &json!({"executionArn": arn})),
            404,
            Some("no such export"),
        ),
        case(
            "a post naming its author",
            Call::post(
                "/posts",
                &ada,
                &json!({"Post": "hi", "Tags": [], "UserID": "someone-else"}),
            ),
            400,
            Some("invalid JSON body at UserID: unknown field `UserID`"),
        ),
        case(
            "a post without text",
            Call::post("/posts", &ada, &json!({"Post": " ", "Tags": ["#a"]})),
            400,
            Some("\"Post\" must not be empty"),
        ),
        case(
            "a post past the length limit",
            Call::post(
                "/posts",
                &ada,
                &json!({"Post": "x".repeat(sde_core::MAX_POST_CHARS + 1)}),
            ),
            413,
            Some("\"Post\" is 2001 characters long"),
        ),
        case(
            "a post as a form",
            post_raw("/posts", &ada, "text/plain", "{\"Post\": \"hi\"}".into()),
            415,
            None,
        ),
        case(
            "one's daily subscriptions, none yet",
            Call {
                method: "GET",
                body: None,
                ..Call::post("/subscriptions/daily", &ada, &json!(null))
            },
            200,
            None,
        ),
        case(
            "a subscription to an empty term",
            Call::post("/subscriptions/real-time", &ada, &json!({"value": "  "})),
            400,
            Some("\"value\" must not be empty"),
        ),
        case(
            "removing a subscription one does not hold",
            Call {
                method: "DELETE",
                ..Call::post("/subscriptions/daily", &ada, &json!({"value": "dog"}))
            },
            404,
            Some("Subscription not found"),
        ),
        case(
            "a subscription as a form",
            post_raw(
                "/subscriptions/daily",
                &ada,
                "text/plain",
                "{\"value\": \"dog\"}".into(),
            ),
            415,
            None,
        ),
        case(
            "the status of one's own export",
            Call::post("/report-status", &ada, &json!({"executionArn": arn})),
            200,
            None,
        ),
        case(
            "the exports of a user who has none",
            Call::without_body("GET", "/exports", &eve),
            200,
            None,
        ),
        case(
            "cancelling another user's export",
            Call::without_body("DELETE", adas_export, &eve),
            404,
            Some("no such export"),
        ),
        case(
            "cancelling what is no export",
            Call::without_body("DELETE", "/exports/no-such-export", &ada),
            404,
            Some("no such export"),
        ),
    ];

    for case in &cases {
        let [local, lambda] = Host::both(&app);
        let on_local = local.call(&case.call).await;
        let on_lambda = lambda.call(&case.call).await;
        assert_eq!(
            on_local, on_lambda,
            "{}: both hosts answer alike",
            case.name
        );
        assert_eq!(
            on_local.status, case.status,
            "{}: {}",
            case.name, on_local.body
        );
        if let Some(message) = case.message {
            let said = on_local.body["message"].as_str().unwrap_or_default();
            assert!(said.starts_with(message), "{}: {said:?}", case.name);
        }
    }
}

/// `method` on a link of the stack, as a mail client sends it: no token, the one-click body.
fn follow(method: &'static str, app: &TestApp, link: &str) -> Call {
    let path = link.strip_prefix(app.url.as_str()).unwrap().to_owned();
    Call {
        method,
        path: Box::leak(path.into_boxed_str()),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: (method == "POST").then(|| "List-Unsubscribe=One-Click".into()),
    }
}

#[tokio::test]
async fn both_hosts_answer_every_unsubscribe_link_alike() {
    use chrono::{Duration as Span, Utc};
    use sde_core::{
        SubscriptionKind, SubscriptionTerm, UNSUBSCRIBE_LINK_LIFETIME, UnsubscribeScope,
    };

    let app = TestApp::spawn().await;
    let state = &app.stack.as_ref().unwrap().state;
    // A term whose link needs encoding: API Gateway hands the function the decoded query.
    let term = SubscriptionTerm::parse("hot dog & café").unwrap();
    let scope = UnsubscribeScope::Term(term.clone());
    let daily = SubscriptionKind::Daily;
    let now = Utc::now();
    let links = &state.unsubscribe_links;
    let valid = links.issue("ada-sub", daily, &scope, now);
    let lapsed = now - UNSUBSCRIBE_LINK_LIFETIME - Span::minutes(1);
    let expired = links.issue("ada-sub", daily, &scope, lapsed);
    let widened = valid.replace("kind=daily", "kind=real-time");
    assert_ne!(widened, valid);
    let bare = format!("{}/unsubscribe", app.url);
    let held = || async {
        state.subscriptions.list("ada-sub", daily).await.unwrap() == ["hot dog & café"]
    };

    let cases = [
        case("the page of a link", follow("GET", &app, &valid), 200, None),
        case("a one-click POST", follow("POST", &app, &valid), 200, None),
        case("an expired link", follow("POST", &app, &expired), 410, None),
        case(
            "the page of an expired link",
            follow("GET", &app, &expired),
            410,
            None,
        ),
        case(
            "a link made to say another kind",
            follow("POST", &app, &widened),
            403,
            None,
        ),
        case("no link at all", follow("POST", &app, &bare), 403, None),
    ];
    for case in &cases {
        let mut answers = Vec::new();
        for host in Host::both(&app) {
            state
                .subscriptions
                .add("ada-sub", daily, &term, 50)
                .await
                .unwrap();
            let answer = host.call(&case.call).await;
            let removed = case.name == "a one-click POST";
            assert_eq!(
                held().await,
                !removed,
                "{} on {:?}: the subscription is {}",
                case.name,
                host.kind,
                if removed { "removed" } else { "kept" }
            );
            answers.push(answer);
        }
        assert_eq!(
            answers[0], answers[1],
            "{}: both hosts answer alike",
            case.name
        );
        assert_eq!(
            answers[0].status, case.status,
            "{}: {}",
            case.name, answers[0].body
        );
        assert!(
            answers[0]
                .body
                .as_str()
                .is_some_and(|page| page.contains("<html")),
            "{}: a page, not {}",
            case.name,
            answers[0].body
        );
    }
}

#[tokio::test]
async fn without_a_valid_token_both_hosts_answer_401_and_run_nothing() {
    let app = TestApp::spawn().await;
    let search = json!({"search": [{"value": "zeppelin"}]});
    for credential in [None, Some("not.a.token"), Some("Bearer")] {
        let mut call = Call::post(
            "/download-request",
            "",
            &json!({"type": "direct", "searchCriteria": search}),
        );
        call.headers.retain(|(name, _)| name != "Authorization");
        if let Some(credential) = credential {
            call.headers
                .push(("Authorization".into(), credential.into()));
        }
        for host in Host::both(&app) {
            let Answer { status, body } = host.call(&call).await;
            assert_eq!(status, 401, "{:?} {credential:?}: {body}", host.kind);
            assert!(body["message"].is_string());
        }
    }
    assert!(app.stored_files().is_empty(), "no export ran");
}

#[tokio::test]
async fn both_hosts_answer_every_websocket_message_alike() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.com").await;
    let eve = app.token("eve@example.com").await;
    let arn = app
        .start_export(&ada, "push", &json!({"search": [{"value": "zeppelin"}]}))
        .await;
    let oversized = format!(
        "{{\"action\":\"OpenConnection\",\"executionArn\":\"{}\"}}",
        "a".repeat(MAX_MESSAGE_BYTES)
    );
    let cases: Vec<(&str, String, Value)> = vec![
        (
            "not JSON",
            "{\"action\":".to_owned(),
            json!({"error": "invalid JSON message: EOF while parsing a value at line 1 column 10"}),
        ),
        (
            "another action",
            json!({"action": "Subscribe", "executionArn": arn}).to_string(),
            json!({"error": "unknown action \"Subscribe\": send {\"action\": \"OpenConnection\", \"executionArn\": …}", "executionArn": arn}),
        ),
        (
            "no ARN",
            json!({"action": "OpenConnection"}).to_string(),
            json!({"error": "OpenConnection needs \"executionArn\": missing field `executionArn`"}),
        ),
        (
            "another user's export",
            json!({"action": "OpenConnection", "executionArn": arn}).to_string(),
            json!({"error": "no such export", "executionArn": arn}),
        ),
        (
            "too large",
            oversized[..MAX_MESSAGE_BYTES + 1].to_owned(),
            json!({"error": format!("the message is larger than {MAX_MESSAGE_BYTES} bytes")}),
        ),
    ];
    for host in Host::both(&app) {
        let mut socket = host.connect(Some(&eve)).await.unwrap();
        for (name, message, frame) in &cases {
            socket.send_text(message).await;
            let answer = socket.next_frame(Duration::from_secs(10)).await;
            assert_eq!(answer.as_ref(), Some(frame), "{:?}: {name}", host.kind);
        }
    }
}
