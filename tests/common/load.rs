//! Concurrent exports against a running local stack: mixed delivery types from many users, every
//! file checked against its search total, with latency figures. Used by `tests/load.rs` (a small
//! load in the test command) and `examples/load.rs` (the full load, by hand).

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// What one run found.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub exports: usize,
    pub exact: usize,
    pub download_request_ms: Vec<f64>,
    pub report_status_ms: Vec<f64>,
    pub total: Duration,
}

impl LoadReport {
    pub fn print(&mut self) {
        println!(
            "exports: {}  exact files: {}  total time: {:.2} s",
            self.exports,
            self.exact,
            self.total.as_secs_f64()
        );
        for (name, samples) in [
            ("/download-request", &mut self.download_request_ms),
            ("/report-status", &mut self.report_status_ms),
        ] {
            samples.sort_by(f64::total_cmp);
            println!(
                "{name:<18} n={:<6} p50={:>7.2} ms  p99={:>7.2} ms",
                samples.len(),
                percentile(samples, 0.50),
                percentile(samples, 0.99)
            );
        }
    }
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn criteria(i: usize) -> Value {
    let term = [
        sde_dataimport::generate::SELECTIVE_TAG,
        sde_dataimport::generate::SELECTIVE_WORD,
    ][i % 2];
    json!({"type": "posts", "results": 10, "page": 0, "search": [{"value": term}]})
}

async fn post(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> (Value, f64) {
    let started = Instant::now();
    let response = http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {body}");
    (body, started.elapsed().as_secs_f64() * 1000.0)
}

/// Runs `exports` exports by `users` users at once against the stack at `base`.
pub async fn run(base: &str, exports: usize, users: usize) -> LoadReport {
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for user in 0..users {
        let response: Value = http
            .post(format!("{base}/auth/token"))
            .json(&json!({"email": format!("load{user}@example.com")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(response["idToken"].as_str().unwrap().to_owned());
    }
    let report = Arc::new(Mutex::new(LoadReport {
        exports,
        ..LoadReport::default()
    }));
    let started = Instant::now();
    let mut runs = Vec::new();
    for i in 0..exports {
        let (http, base, token, report) = (
            http.clone(),
            base.to_owned(),
            tokens[i % users].clone(),
            report.clone(),
        );
        runs.push(tokio::spawn(async move {
            let criteria = criteria(i);
            let (search, _) = post(&http, &format!("{base}/search"), &token, &criteria).await;
            let expected = search["TotalResults"].as_u64().unwrap();
            let kind = ["direct", "email", "push"][i % 3];
            let mut socket = None;
            if kind == "push" {
                let url = format!("{}/ws?token={token}", base.replacen("http", "ws", 1));
                socket = Some(tokio_tungstenite::connect_async(url).await.unwrap().0);
            }
            let (started, ms) = post(
                &http,
                &format!("{base}/download-request"),
                &token,
                &json!({"type": kind, "searchCriteria": criteria}),
            )
            .await;
            report.lock().unwrap().download_request_ms.push(ms);
            let arn = started["executionArn"].as_str().unwrap().to_owned();
            let url = match socket.as_mut() {
                Some(socket) => {
                    let open = json!({"action": "OpenConnection", "executionArn": arn});
                    socket
                        .send(Message::Text(open.to_string().into()))
                        .await
                        .unwrap();
                    loop {
                        match tokio::time::timeout(Duration::from_secs(300), socket.next()).await {
                            Ok(Some(Ok(Message::Text(text)))) => {
                                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                                break frame["reportURL"]
                                    .as_str()
                                    .expect("a reportURL frame")
                                    .to_owned();
                            }
                            Ok(Some(Ok(_))) => continue,
                            other => panic!("no frame for {arn}: {other:?}"),
                        }
                    }
                }
                None => loop {
                    let (status, ms) = post(
                        &http,
                        &format!("{base}/report-status"),
                        &token,
                        &json!({"executionArn": arn}),
                    )
                    .await;
                    report.lock().unwrap().report_status_ms.push(ms);
                    match status["status"].as_str() {
                        Some("RUNNING") => tokio::time::sleep(Duration::from_millis(250)).await,
                        Some("SUCCEEDED") => {
                            break status["reportURL"].as_str().unwrap().to_owned();
                        }
                        _ => panic!("export {arn} ended {status}"),
                    }
                },
            };
            let body = http.get(&url).send().await.unwrap().bytes().await.unwrap();
            let rows = csv::Reader::from_reader(body.as_ref()).records().count() as u64;
            if rows == expected {
                report.lock().unwrap().exact += 1;
            }
        }));
    }
    for run in runs {
        run.await.unwrap();
    }
    let mut report = std::mem::take(&mut *report.lock().unwrap());
    report.total = started.elapsed();
    report
}
