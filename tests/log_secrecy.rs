//! A full export of each type with every log line captured (debug level and up): no token,
//! signed URL, signature or signing key may appear in them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_signed_url_or_secret_reaches_the_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug,hyper=info,h2=info,tantivy=info,reqwest=info")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let app = TestApp::spawn().await;
    let token = app.token("quiet@example.com").await;
    let criteria = json!({"search": [{"value": sde_dataimport::generate::SELECTIVE_TAG}]});
    let mut secrets = vec![token.clone()];

    let mut socket = app.connect(&token).await;
    for kind in ["direct", "email", "push"] {
        let arn = app.start_export(&token, kind, &criteria).await;
        if kind == "push" {
            socket.open(&arn).await;
            socket
                .next_frame(Duration::from_secs(30))
                .await
                .expect("a frame");
        }
        let status = app
            .wait_finished(&token, &arn, Duration::from_millis(50))
            .await;
        assert_eq!(status["status"], "SUCCEEDED");
        let url = status["reportURL"].as_str().unwrap().to_owned();
        let signature = url.split("sig=").nth(1).unwrap().to_owned();
        secrets.push(url);
        secrets.push(signature);
    }
    // A refused call logs too; its bad token must not.
    let (code, _) = app.post("/search", &format!("{token}x"), json!({})).await;
    assert_eq!(code, 401);
    secrets.push(std::fs::read_to_string(app.data_dir.join("secrets/url-signing-key")).unwrap());
    let issuer_key =
        std::fs::read_to_string(app.data_dir.join("secrets/dev-issuer-key.pem")).unwrap();
    secrets.extend(
        issuer_key
            .lines()
            .filter(|line| line.len() > 40)
            .map(str::to_owned),
    );

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("export complete"),
        "logs were captured: {} bytes",
        text.len()
    );
    for secret in &secrets {
        assert!(
            !text.contains(secret.trim()),
            "a secret reached the logs: {}…",
            &secret[..12.min(secret.len())]
        );
    }
}
