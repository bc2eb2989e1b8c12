//! `/subscriptions/daily` and `/subscriptions/real-time` on the local stack, through its public
//! HTTP API, called as the frontend calls them (the ID token bare in `Authorization`, as AWS
//! Amplify sends it; `{"value": term}` bodies, on `DELETE` too): a term is added once, compared
//! trimmed and case-insensitively, listed whole, removed exactly; each user sees and removes only
//! their own; a caller without a valid token gets 401; subscriptions outlive a restart; and the
//! one-click unsubscribe link of a subscription email removes its one subscription without
//! signing in, only when it is POSTed, and only when it is ours and unexpired.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use reqwest::Method;
use sde_core::UnsubscribeScope;
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

/// The one-click unsubscribe link of `email`'s subscription of `kind` to `term` (every one of
/// the kind for `None`), as the stack signs it into a subscription email, issued as if at `at`.
fn unsubscribe_link(
    app: &TestApp,
    email: &str,
    kind: sde_core::SubscriptionKind,
    term: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    let state = &app.stack.as_ref().unwrap().state;
    let sub = state.issuer.as_ref().unwrap().sub_for(email).unwrap();
    let scope = match term {
        Some(term) => UnsubscribeScope::Term(sde_core::SubscriptionTerm::parse(term).unwrap()),
        None => UnsubscribeScope::All,
    };
    state.unsubscribe_links.issue(&sub, kind, &scope, at)
}

/// A request to an unsubscribe link as a mail client or a browser makes it: no sign-in.
async fn follow(app: &TestApp, method: Method, link: &str) -> (u16, String) {
    let mut request = app.http.request(method.clone(), link);
    if method == Method::POST {
        // RFC 8058's one-click POST.
        request = request
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click");
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["referrer-policy"],
        "no-referrer",
        "the page never passes its signed URL on"
    );
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn an_unsubscribe_link_removes_its_one_subscription_without_signing_in() {
    use sde_core::SubscriptionKind::{Daily, RealTime};
    let app = spawn_in(None).await;
    let ada = app.token("ada@example.com").await;
    for (path, term) in [
        (DAILY, "Hot dog <b>"),
        (DAILY, "dog"),
        (REAL_TIME, "Hot dog <b>"),
    ] {
        assert_eq!(subscribe(&app, path, &ada, term).await.0, 201);
    }
    let now = chrono::Utc::now();
    let link = unsubscribe_link(&app, "ada@example.com", Daily, Some("Hot dog <b>"), now);
    assert!(
        link.starts_with(&format!("{}/unsubscribe?", app.url)),
        "{link}"
    );

    // Opening the link only asks: a mail scanner following it unsubscribes no one.
    let (status, page) = follow(&app, Method::GET, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(
        page.contains("“Hot dog &lt;b&gt;”"),
        "the term is shown escaped: {page}"
    );
    assert_eq!(
        terms(&app, DAILY, &ada).await,
        json!(["dog", "Hot dog <b>"])
    );

    // The one-click POST removes that one subscription: not "dog", not the real-time one.
    let (status, page) = follow(&app, Method::POST, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("You will no longer receive the daily digest for “Hot dog &lt;b&gt;”"),
        "{page}"
    );
    assert!(
        page.contains("/?unsubscribe=true"),
        "it links to the list: {page}"
    );
    assert_eq!(terms(&app, DAILY, &ada).await, json!(["dog"]));
    assert_eq!(terms(&app, REAL_TIME, &ada).await, json!(["Hot dog <b>"]));

    // Again: nothing left to remove, and it says so.
    let (status, page) = follow(&app, Method::POST, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You had already stopped"), "{page}");

    // A link changed to name another term, one signed by someone else, and an expired one
    // change nothing.
    let forged = link.replace("term=Hot%20dog%20%3Cb%3E", "term=dog");
    assert_ne!(forged, link);
    assert_eq!(follow(&app, Method::POST, &forged).await.0, 403);
    let foreign = sde_core::UnsubscribeLinks::new(&sde_core::SigningKey::generate(), &app.url)
        .issue(
            &app.stack
                .as_ref()
                .unwrap()
                .state
                .issuer
                .as_ref()
                .unwrap()
                .sub_for("ada@example.com")
                .unwrap(),
            RealTime,
            &UnsubscribeScope::All,
            now,
        );
    assert_eq!(follow(&app, Method::POST, &foreign).await.0, 403);
    let expired = unsubscribe_link(
        &app,
        "ada@example.com",
        RealTime,
        Some("Hot dog <b>"),
        now - sde_core::UNSUBSCRIBE_LINK_LIFETIME - chrono::Duration::minutes(1),
    );
    let (status, page) = follow(&app, Method::POST, &expired).await;
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("expired"), "{page}");
    assert_eq!(
        follow(&app, Method::POST, &format!("{}/unsubscribe", app.url))
            .await
            .0,
        403
    );
    assert_eq!(terms(&app, DAILY, &ada).await, json!(["dog"]));
    assert_eq!(terms(&app, REAL_TIME, &ada).await, json!(["Hot dog <b>"]));

    // The List-Unsubscribe link of a real-time email removes every real-time subscription, and
    // only those, and only the link's user's.
    assert_eq!(subscribe(&app, REAL_TIME, &ada, "cats").await.0, 201);
    let grace = app.token("grace@example.com").await;
    assert_eq!(subscribe(&app, REAL_TIME, &grace, "cats").await.0, 201);
    let all = unsubscribe_link(&app, "ada@example.com", RealTime, None, now);
    let (status, page) = follow(&app, Method::POST, &all).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("all your real-time alerts"), "{page}");
    assert_eq!(terms(&app, REAL_TIME, &ada).await, json!([]));
    assert_eq!(terms(&app, DAILY, &ada).await, json!(["dog"]));
    assert_eq!(terms(&app, REAL_TIME, &grace).await, json!(["cats"]));
}
