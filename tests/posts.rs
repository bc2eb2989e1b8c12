//! `POST /posts` on the local stack, through its public HTTP API: a new post is in `/search`
//! and in exports as soon as it is answered, it is always the caller's, and bad or
//! unauthenticated posts store nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use common::{TestApp, csv_rows};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(50);

/// The `sub` claim of an ID token.
fn sub_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

fn criteria(term: &str) -> Value {
    json!({"type": "post", "results": 10, "page": 0, "search": [{"value": term}]})
}

async fn total(app: &TestApp, token: &str, criteria: &Value) -> u64 {
    app.search(token, criteria).await["TotalResults"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_new_post_is_in_search_and_exports_within_a_second_of_its_201() {
    let app = TestApp::spawn().await;
    let token = app.token("ada@example.com").await;
    let everything = json!({"search": []});
    let before = total(&app, &token, &everything).await;

    let sent = Instant::now();
    let (status, post) = app
        .post(
            "/posts",
            &token,
            json!({"Post": "A dirigible over the harbour, \"so quiet\",\nreally", "Tags": ["#Skyward", "harbour", "#skyward", ""]}),
        )
        .await;
    let answered = Instant::now();
    assert_eq!(status, 201, "{post}");
    assert_eq!(post["UserID"], json!(sub_of(&token)));
    assert_eq!(
        post["Content"],
        "A dirigible over the harbour, \"so quiet\",\nreally"
    );
    assert_eq!(post["Tags"], json!(["#skyward", "#harbour"]));
    let created: DateTime<Utc> = post["DateCreated"].as_str().unwrap().parse().unwrap();
    assert!((Utc::now() - created).num_seconds().abs() < 60, "{created}");
    eprintln!("POST /posts answered in {:?}", answered - sent);

    // Searched for the moment the 201 arrived: by a word, by a tag, and in the total.
    let found = app.search(&token, &criteria("dirigible")).await;
    let searched = answered.elapsed();
    assert_eq!(found["TotalResults"], 1, "{found}");
    let hit = &found["Results"][0];
    for field in ["uuid", "UserID", "DateCreated", "Content", "Tags"] {
        assert_eq!(
            hit[field], post[field],
            "{field} as answered by POST /posts"
        );
    }
    assert_eq!(hit["Type"], "posts");
    assert!(
        searched < Duration::from_secs(1),
        "found {searched:?} after the 201"
    );
    assert_eq!(total(&app, &token, &criteria("#skyward")).await, 1);
    assert_eq!(total(&app, &token, &everything).await, before + 1);

    // Exported like any imported post.
    let (code, started) = app
        .post(
            "/download-request",
            &token,
            json!({"type": "direct", "searchCriteria": criteria("dirigible"),
                   "columns": ["uuid", "UserID", "DateCreated", "Content", "Tags"]}),
        )
        .await;
    assert_eq!(code, 200, "{started}");
    let arn = started["executionArn"].as_str().unwrap();
    let status = app.wait_finished(&token, arn, POLL).await;
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    let (_, _, file) = app.download(status["reportURL"].as_str().unwrap()).await;
    let rows = csv_rows(&file);
    assert_eq!(rows.len(), 1);
    let row: Vec<&str> = rows[0].iter().collect();
    assert_eq!(
        row,
        [
            post["uuid"].as_str().unwrap(),
            post["UserID"].as_str().unwrap(),
            post["DateCreated"].as_str().unwrap(),
            "A dirigible over the harbour, \"so quiet\",\nreally",
            "#skyward #harbour",
        ]
    );
}

#[tokio::test]
async fn a_post_is_always_the_callers_and_a_body_naming_a_user_is_refused() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.com").await;
    let eve = app.token("eve@example.com").await;
    for body in [
        json!({"Post": "posted as eve, says the body", "Tags": [], "UserID": sub_of(&eve)}),
        json!({"Post": "posted as 7, says the body", "UserID": 7}),
        json!({"Post": "back-dated", "DateCreated": "2019-07-21T00:00:00Z"}),
    ] {
        let (status, answer) = app.post("/posts", &ada, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.starts_with("invalid JSON body") && message.contains("unknown field"),
            "{message}"
        );
    }
    assert_eq!(total(&app, &ada, &criteria("says")).await, 0);
    assert_eq!(total(&app, &ada, &criteria("back-dated")).await, 0);

    let (status, post) = app.post("/posts", &eve, json!({"Post": "eve's own"})).await;
    assert_eq!(status, 201);
    assert_eq!(post["UserID"], json!(sub_of(&eve)));
    assert_ne!(sub_of(&eve), sub_of(&ada));
}

#[tokio::test]
async fn posting_without_a_valid_token_is_a_401_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.com").await;
    let body = json!({"Post": "unsigned dirigible"});
    let response = app
        .http
        .post(format!("{}/posts", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let answer: Value = response.json().await.unwrap();
    assert!(answer["message"].is_string(), "{answer}");
    let (status, _) = app.post("/posts", "not.a.token", body).await;
    assert_eq!(status, 401);
    assert_eq!(total(&app, &ada, &criteria("dirigible")).await, 0);
}

#[tokio::test]
async fn posts_past_a_limit_are_a_413_and_malformed_ones_a_400() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.com").await;
    let tags: Vec<String> = (0..=sde_core::MAX_TAGS).map(|i| format!("#t{i}")).collect();
    for (body, status) in [
        (
            json!({"Post": "x".repeat(sde_core::MAX_POST_CHARS + 1)}),
            413,
        ),
        (json!({"Post": "dirigible", "Tags": tags}), 413),
        (
            json!({"Post": "dirigible", "Tags": [format!("#{}", "y".repeat(sde_core::MAX_TAG_CHARS))]}),
            413,
        ),
        (json!({"Post": " "}), 400),
        (json!({"Post": "dirigible", "Tags": ["two words"]}), 400),
        (json!({"Tags": ["#dirigible"]}), 400),
    ] {
        let (answered, answer) = app.post("/posts", &ada, body.clone()).await;
        assert_eq!(answered, status, "{body}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    assert_eq!(total(&app, &ada, &criteria("dirigible")).await, 0);
}
