//! Real-time notices on the local stack, through its public HTTP API: a user subscribed in real
//! time to a term hears, by one email in the outbox, about another user's new post that matches
//! it, naming the term and the post; the author's own matching subscription gets nothing; a
//! daily subscription gets no real-time mail; and the real-time subscriptions outlive a restart
//! (the matcher is loaded again from the store).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

async fn spawn_in(dir: PathBuf) -> TestApp {
    TestApp::spawn_in(dir, |config| config.seed_posts = 0).await
}

/// The outbox's messages once it holds `count`, waiting up to five seconds.
async fn outbox_of(app: &TestApp, count: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let messages = app.outbox();
        if messages.len() >= count || started.elapsed() > Duration::from_secs(5) {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn recipients(messages: &[String]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|message| {
            message
                .lines()
                .find_map(|line| line.strip_prefix("To: ").map(str::to_owned))
        })
        .collect()
}

#[tokio::test]
async fn another_users_matching_post_mails_the_subscriber_once_and_not_the_author() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_in(dir.path().to_owned()).await;
    let ada = app.token("ada@example.com").await;
    let bob = app.token("bob@example.com").await;
    for (token, path) in [
        (&ada, "/subscriptions/real-time"),
        (&bob, "/subscriptions/real-time"),
        (&bob, "/subscriptions/daily"),
    ] {
        let (status, _) = app.post(path, token, json!({"value": "Aurora"})).await;
        assert_eq!(status, 201, "{path}");
    }

    let (status, post) = app
        .post(
            "/posts",
            &bob,
            json!({"Post": "#aurora tonight over the <bay>", "Tags": ["#aurora"]}),
        )
        .await;
    assert_eq!(status, 201, "{post}");

    let messages = outbox_of(&app, 1).await;
    // Give a second, wrong email the time to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = if app.outbox().len() > messages.len() {
        app.outbox()
    } else {
        messages
    };
    assert_eq!(recipients(&messages), ["ada@example.com"], "{messages:#?}");
    let email = &messages[0];
    assert!(email.contains("Aurora"), "{email}");
    assert!(email.contains("?search=Aurora"), "{email}");
    assert!(email.contains("#aurora tonight over the"), "{email}");
    assert!(
        email.contains("&lt;bay&gt;"),
        "escaped in the HTML part: {email}"
    );
}

#[tokio::test]
async fn real_time_subscriptions_are_matched_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = spawn_in(dir.path().to_owned()).await;
    let ada = app.token("ada@example.com").await;
    let (status, _) = app
        .post(
            "/subscriptions/real-time",
            &ada,
            json!({"value": "volcano"}),
        )
        .await;
    assert_eq!(status, 201);
    app.shutdown().await;

    let app = spawn_in(dir.path().to_owned()).await;
    let bob = app.token("bob@example.com").await;
    let (status, _) = app
        .post("/posts", &bob, json!({"Post": "The volcano woke up"}))
        .await;
    assert_eq!(status, 201);
    let messages = outbox_of(&app, 1).await;
    assert_eq!(recipients(&messages), ["ada@example.com"], "{messages:#?}");
}

#[tokio::test]
async fn a_removed_subscription_is_not_mailed() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_in(dir.path().to_owned()).await;
    let ada = app.token("ada@example.com").await;
    let bob = app.token("bob@example.com").await;
    app.post("/subscriptions/real-time", &ada, json!({"value": "comet"}))
        .await;
    let removed = app
        .http
        .delete(format!("{}/subscriptions/real-time", app.url))
        .bearer_auth(&ada)
        .json(&json!({"value": "comet"}))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    let (status, _) = app
        .post("/posts", &bob, json!({"Post": "a comet tonight"}))
        .await;
    assert_eq!(status, 201);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(app.outbox().is_empty(), "{:#?}", app.outbox());
}
