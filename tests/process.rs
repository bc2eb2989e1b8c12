//! The `sde` binary as a user runs it: `sde serve` prints where it listens and how to sign in,
//! and an export cut short by a kill reads FAILED after a restart, never RUNNING forever.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts `sde serve` on a free port over `data_dir`; returns the process and its URL and the
/// lines it printed up to the data line.
fn serve(data_dir: &Path) -> (Child, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sde"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--seed-posts",
            "2000",
            "--data-dir",
        ])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "sde serve exited early: {lines:?}"
        );
        let done = line.trim_start().starts_with("data");
        lines.push(line.trim_end().to_owned());
        if done {
            break;
        }
    }
    let url = lines[0]
        .strip_prefix("sde is running at ")
        .expect("the URL comes first")
        .to_owned();
    (child, url, lines)
}

async fn post(url: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = reqwest::Client::new().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_export_killed_mid_run_reads_failed_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url, lines) = serve(dir.path());
    assert!(
        lines.iter().any(|l| l.contains("/auth/token")),
        "it says how to get a token: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("/ws?token=")),
        "it names the WebSocket: {lines:?}"
    );

    let token = post(
        &format!("{url}/auth/token"),
        None,
        json!({"email": "killed@example.com"}),
    )
    .await["idToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let criteria = json!({"search": [{"value": "#aurora"}]});
    // A push export without a client waits for one: it is running when the process dies.
    let started = post(
        &format!("{url}/download-request"),
        Some(&token),
        json!({"type": "push", "searchCriteria": criteria}),
    )
    .await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    let status = post(
        &format!("{url}/report-status"),
        Some(&token),
        json!({"executionArn": arn}),
    )
    .await;
    assert_eq!(status["status"], "RUNNING");
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, url, _) = serve(dir.path());
    let status = post(
        &format!("{url}/report-status"),
        Some(&token),
        json!({"executionArn": arn}),
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status["status"], "FAILED", "{status}");
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("stopped while this export was running"),
        "{status}"
    );
}
