//! `/subscriptions/daily` and `/subscriptions/real-time` on the local stack, through its public
//! HTTP API, called as the frontend calls them (the ID token bare in `Authorization`, as AWS
//! Amplify sends it; `{"value": term}` bodies, on `DELETE` too): a term is added once, compared
//! trimmed and case-insensitively, listed whole, removed exactly; each user sees and removes only
//! their own; a caller without a valid token gets 401; and subscriptions outlive a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;

const DAILY: &str = "/subscriptions/daily";
const REAL_TIME: &str = "/subscriptions/real-time";

/// A stack without sample posts: subscriptions do not read the index.
async fn spawn_in(data_dir: Option<PathBuf>) -> TestApp {
    let empty = |config: &mut sde_local::StackConfig| config.seed_posts = 0;
    match data_dir {
        Some(dir) => TestApp::spawn_in(dir, empty).await,
        None => TestApp::spawn_with(empty).await,
    }
}

/// One call as the frontend makes it; returns status and JSON body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .http
        .request(method, format!("{}{path}", app.url))
        .header("Authorization", token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn subscribe(app: &TestApp, path: &str, token: &str, term: &str) -> (u16, Value) {
    call(app, Method::POST, path, token, Some(json!({"value": term}))).await
}

async fn unsubscribe(app: &TestApp, path: &str, token: &str, term: &str) -> (u16, Value) {
    call(
        app,
        Method::DELETE,
        path,
        token,
        Some(json!({"value": term})),
    )
    .await
}

async fn terms(app: &TestApp, path: &str, token: &str) -> Value {
    let (status, body) = call(app, Method::GET, path, token, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

#[tokio::test]
async fn a_user_subscribes_lists_and_unsubscribes_as_the_frontend_does() {
    let app = spawn_in(None).await;
    let ada = app.token("ada@example.com").await;
    assert_eq!(terms(&app, DAILY, &ada).await, json!([]));

    let (status, added) = subscribe(&app, DAILY, &ada, " Northern Lights ").await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added, json!({"value": "Northern Lights", "kind": "daily"}));
    assert_eq!(subscribe(&app, DAILY, &ada, "hot dog").await.0, 201);
    assert_eq!(subscribe(&app, REAL_TIME, &ada, "#aurora").await.0, 201);

    for again in ["northern lights", "NORTHERN LIGHTS  "] {
        assert_eq!(
            subscribe(&app, DAILY, &ada, again).await,
            (400, json!({"message": "Subscription already exists"})),
            "{again:?}"
        );
    }
    assert_eq!(
        terms(&app, DAILY, &ada).await,
        json!(["hot dog", "Northern Lights"])
    );
    assert_eq!(terms(&app, REAL_TIME, &ada).await, json!(["#aurora"]));

    assert_eq!(
        unsubscribe(&app, DAILY, &ada, "dog").await,
        (404, json!({"message": "Subscription not found"})),
        "deleting \"dog\" never deletes \"hot dog\""
    );
    assert_eq!(
        unsubscribe(&app, REAL_TIME, &ada, "hot dog").await.0,
        404,
        "a daily term is not a real-time one"
    );
    let (status, removed) = unsubscribe(&app, DAILY, &ada, "HOT DOG").await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(terms(&app, DAILY, &ada).await, json!(["Northern Lights"]));
    assert_eq!(unsubscribe(&app, DAILY, &ada, "hot dog").await.0, 404);
}

#[tokio::test]
async fn every_term_is_listed_and_the_cap_answers_400() {
    let app = spawn_in(None).await;
    let ada = app.token("ada@example.com").await;
    let cap = sde_core::MAX_SUBSCRIPTIONS_PER_KIND;
    let mut expected: Vec<String> = (0..cap).map(|n| format!("term {n:02}")).collect();
    for term in &expected {
        assert_eq!(
            subscribe(&app, REAL_TIME, &ada, term).await.0,
            201,
            "{term}"
        );
    }
    expected.sort();
    assert_eq!(terms(&app, REAL_TIME, &ada).await, json!(expected));

    let (status, refused) = subscribe(&app, REAL_TIME, &ada, "one too many").await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("the most allowed is 50"),
        "{refused}"
    );
    assert_eq!(subscribe(&app, DAILY, &ada, "one too many").await.0, 201);
    assert_eq!(unsubscribe(&app, REAL_TIME, &ada, "term 07").await.0, 200);
    assert_eq!(
        subscribe(&app, REAL_TIME, &ada, "one too many").await.0,
        201
    );
}

#[tokio::test]
async fn other_users_never_see_or_delete_my_subscriptions() {
    let app = spawn_in(None).await;
    let ada = app.token("ada@example.com").await;
    let eve = app.token("eve@example.com").await;
    assert_eq!(subscribe(&app, DAILY, &ada, "secret garden").await.0, 201);

    assert_eq!(terms(&app, DAILY, &eve).await, json!([]));
    assert_eq!(unsubscribe(&app, DAILY, &eve, "secret garden").await.0, 404);
    assert_eq!(
        subscribe(&app, DAILY, &eve, "Secret Garden").await.0,
        201,
        "eve's own subscription to the same term"
    );
    assert_eq!(unsubscribe(&app, DAILY, &eve, "secret garden").await.0, 200);
    assert_eq!(terms(&app, DAILY, &ada).await, json!(["secret garden"]));
}

#[tokio::test]
async fn without_a_valid_token_every_route_is_a_401_and_changes_nothing() {
    let app = spawn_in(None).await;
    let ada = app.token("ada@example.com").await;
    assert_eq!(subscribe(&app, DAILY, &ada, "cats").await.0, 201);
    for path in [DAILY, REAL_TIME] {
        for method in [Method::GET, Method::POST, Method::DELETE] {
            let body = (method != Method::GET).then(|| json!({"value": "cats"}));
            let response = app
                .http
                .request(method.clone(), format!("{}{path}", app.url))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{method} {path} without a token");
            let answer: Value = response.json().await.unwrap();
            assert!(answer["message"].is_string(), "{answer}");
            let (status, _) = call(&app, method.clone(), path, "not.a.token", body).await;
            assert_eq!(status, 401, "{method} {path} with a bad token");
        }
    }
    assert_eq!(terms(&app, DAILY, &ada).await, json!(["cats"]));
}

#[tokio::test]
async fn malformed_terms_are_a_400() {
    let app = spawn_in(None).await;
    let ada = app.token("ada@example.com").await;
    for body in [
        json!({"value": "  "}),
        json!({"value": 7}),
        json!({}),
        json!({"value": "x".repeat(513)}),
    ] {
        let (status, answer) = call(&app, Method::POST, DAILY, &ada, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    assert_eq!(terms(&app, DAILY, &ada).await, json!([]));
}

#[tokio::test]
async fn subscriptions_outlive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = spawn_in(Some(dir.path().to_path_buf())).await;
    let ada = app.token("ada@example.com").await;
    assert_eq!(subscribe(&app, DAILY, &ada, "Comet").await.0, 201);
    assert_eq!(subscribe(&app, REAL_TIME, &ada, "eclipse").await.0, 201);
    app.shutdown().await;

    let app = spawn_in(Some(dir.path().to_path_buf())).await;
    let ada = app.token("ada@example.com").await;
    assert_eq!(terms(&app, DAILY, &ada).await, json!(["Comet"]));
    assert_eq!(terms(&app, REAL_TIME, &ada).await, json!(["eclipse"]));
    assert_eq!(subscribe(&app, DAILY, &ada, "comet").await.0, 400);
}
