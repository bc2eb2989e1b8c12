//! Daily digests on the local stack, as people try them: users subscribe daily through the API,
//! others post, and `sde digests --date <day>` (the binary, over the stack's data directory)
//! mails each subscriber one digest of that day's matching posts, their own posts left out; a
//! second run of the same day mails no one again; and the digest's `List-Unsubscribe` link,
//! POSTed as a mail client does, stops that user's daily digests and no one else's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// Runs `sde digests --date <day>` over `data_dir`; returns its standard output.
fn digests(data_dir: &Path, url: &str, day: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sde"))
        .args(["digests", "--date", day, "--public-url", url, "--data-dir"])
        .arg(data_dir)
        .env_remove("SDE_DATA_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A header of `message`, its folded lines joined.
fn header(message: &str, name: &str) -> Option<String> {
    let mut lines = message
        .lines()
        .take_while(|line| !line.is_empty())
        .peekable();
    while let Some(line) = lines.next() {
        if let Some(value) = line
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(": "))
        {
            let mut value = value.to_owned();
            while let Some(next) = lines.next_if(|next| next.starts_with([' ', '\t'])) {
                value.push_str(next.trim_start());
            }
            return Some(value);
        }
    }
    None
}

fn digests_to<'a>(messages: &'a [String], to: &str) -> Vec<&'a String> {
    messages
        .iter()
        .filter(|message| {
            header(message, "To").as_deref() == Some(to)
                && header(message, "Subject").is_some_and(|s| s.contains("daily searches"))
        })
        .collect()
}

#[tokio::test]
async fn a_days_digests_go_to_each_subscriber_once_and_unsubscribe_in_one_click() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_in(dir.path().to_owned(), |config| {
        config.seed_posts = 0;
        config.digest_time = None;
    })
    .await;
    let ada = app.token("ada@example.com").await;
    let bob = app.token("bob@example.com").await;
    let cy = app.token("cy@example.com").await;
    for token in [&ada, &cy] {
        let (status, body) = app
            .post("/subscriptions/daily", token, json!({"value": "Aurora"}))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    for (token, text) in [
        (&bob, "#aurora tonight over the <bay>"),
        (&ada, "my own aurora picture"),
        (&bob, "nothing about the sky"),
    ] {
        let (status, body) = app.post("/posts", token, json!({"Post": text})).await;
        assert_eq!(status, 201, "{body}");
    }
    let today = chrono::Utc::now().date_naive().to_string();

    let first = digests(dir.path(), &app.url, &today);
    assert!(first.contains("2 sent"), "{first}");
    let messages = app.outbox();
    let (to_ada, to_cy) = (
        digests_to(&messages, "ada@example.com"),
        digests_to(&messages, "cy@example.com"),
    );
    assert_eq!((to_ada.len(), to_cy.len()), (1, 1), "{messages:#?}");
    assert!(digests_to(&messages, "bob@example.com").is_empty());
    let ada_digest = to_ada[0];
    assert!(
        ada_digest.contains("#aurora tonight over the"),
        "{ada_digest}"
    );
    assert!(
        ada_digest.contains("&lt;bay&gt;"),
        "escaped in HTML: {ada_digest}"
    );
    assert!(
        !ada_digest.contains("my own aurora"),
        "not her own post: {ada_digest}"
    );
    assert!(
        !ada_digest.contains("nothing about the sky"),
        "{ada_digest}"
    );
    assert!(to_cy[0].contains("my own aurora picture"), "{}", to_cy[0]);
    assert!(
        ada_digest.contains(&format!("{}/?search=Aurora", app.url)),
        "{ada_digest}"
    );

    // The same day again: everyone already has theirs.
    let second = digests(dir.path(), &app.url, &today);
    assert!(
        second.contains("0 sent") && second.contains("2 already sent"),
        "{second}"
    );
    assert_eq!(app.outbox().len(), messages.len());

    // Ada's mail client unsubscribes her in one click; Cy keeps his digest. The headers are read
    // from the file as written (the outbox helper decodes quoted-printable everywhere, which
    // would mangle the link's `=` pairs).
    let raw: Vec<String> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    let ada_raw = digests_to(&raw, "ada@example.com")[0];
    assert_eq!(
        header(ada_raw, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let link = header(ada_raw, "List-Unsubscribe").unwrap();
    let link = link.trim_start_matches('<').trim_end_matches('>');
    assert!(
        link.starts_with(&format!("{}/unsubscribe?", app.url)),
        "{link}"
    );
    let response = app
        .http
        .post(link)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, ada_terms) = app
        .call(reqwest::Method::GET, "/subscriptions/daily", &ada)
        .await;
    assert_eq!(ada_terms, json!([]));
    let (_, cy_terms) = app
        .call(reqwest::Method::GET, "/subscriptions/daily", &cy)
        .await;
    assert_eq!(cy_terms, json!(["Aurora"]));
}
