//! The delivery adapters against moto: SES v2 mail, API Gateway `PostToConnection`, and the
//! push registry and progress board kept in S3.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use sde_aws::{
    ApiGatewayPushChannel, PushConfig, S3Config, S3ProgressBoard, S3PushRegistry, SesConfig,
    SesMailer,
};
use sde_core::{
    DeliveryErrorKind, EmailMessage, ExportProgress, Mailer, PendingDelivery, PostOutcome,
    ProgressBoard, PushChannel, PushConnection, PushRegistry,
};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test]
async fn ses_mailer_sends_the_link_to_the_owner() {
    let moto = moto_or_skip!();
    let sender = format!("{}@example.com", common::unique("exports"));
    aws_sdk_sesv2::Client::new(&moto.sdk)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let mailer = SesMailer::new(
        &moto.sdk,
        SesConfig {
            from: sender.clone(),
            configuration_set: None,
        },
    );
    let to = format!("{}@example.org", common::unique("owner"));
    let link = "https://exports.example.com/exports/u-1/run.csv?X-Amz-Signature=abc";
    let message = EmailMessage {
        to: to.clone(),
        subject: "Your export is ready — 1 234 rows".into(),
        text: format!("Download it here: {link}"),
        html: format!("<p>Download it <a href=\"{link}\">here</a>.</p>"),
    };
    let id = mailer.send(&message).await.unwrap();
    assert!(!id.is_empty());

    let data = moto.data().await;
    let sent = data["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sent| sent["id"] == id.as_str())
        .unwrap_or_else(|| panic!("message {id} not in moto's data: {data}"));
    assert_eq!(sent["source"], sender.as_str());
    assert_eq!(sent["destinations"]["ToAddresses"], json!([to]));
    assert_eq!(sent["subject"], message.subject.as_str());
    assert!(sent["body"].as_str().unwrap().contains(link), "{sent}");
}

#[tokio::test]
async fn ses_refuses_an_unverified_sender() {
    let moto = moto_or_skip!();
    let mailer = SesMailer::new(
        &moto.sdk,
        SesConfig {
            from: format!("{}@unverified.example.com", common::unique("nobody")),
            configuration_set: None,
        },
    );
    let error = mailer
        .send(&EmailMessage {
            to: "owner@example.org".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.kind, DeliveryErrorKind::Rejected, "{error}");
    assert!(std::error::Error::source(&error).is_some());
}

#[tokio::test]
async fn push_channel_posts_to_a_connection() {
    let moto = moto_or_skip!();
    // moto serves the management API at its root: the endpoint has no stage path.
    let channel = ApiGatewayPushChannel::new(
        &moto.sdk,
        &PushConfig {
            endpoint: moto.url.clone(),
        },
    );
    let outcome = channel
        .post("conn-1=", &json!({"reportURL": "https://x/y.csv"}))
        .await
        .unwrap();
    assert_eq!(outcome, PostOutcome::Delivered);
}

/// A one-answer HTTP server on the loopback interface that replies to every request with
/// `status` and API Gateway's error headers; returns its URL.
async fn api_gateway_answering(status: &'static str, error_type: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Read the request head and body (bounded; the SDK sends Content-Length).
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    let read = socket.read(&mut buffer).await.unwrap_or(0);
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|line| {
                                let (name, value) = line.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let body = format!("{{\"message\":\"{error_type}\"}}");
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                     x-amzn-ErrorType: {error_type}\r\nx-amzn-RequestId: test\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

async fn channel_to(endpoint: String) -> ApiGatewayPushChannel {
    let sdk = sde_aws::sdk_config_for_endpoint(&endpoint, "us-east-1", "t", "t").await;
    ApiGatewayPushChannel::new(&sdk, &PushConfig { endpoint })
}

// moto never answers 410, so these run against a stand-in server that answers the way API
// Gateway does; the SDK parses its answer as it would the real one.
#[tokio::test]
async fn a_client_that_has_gone_is_an_outcome_not_an_error() {
    let channel = channel_to(api_gateway_answering("410 Gone", "GoneException").await).await;
    let outcome = channel
        .post("gone-1", &json!({"reportURL": "x"}))
        .await
        .unwrap();
    assert_eq!(outcome, PostOutcome::Gone);
}

#[tokio::test]
async fn a_forbidden_post_is_rejected() {
    let channel =
        channel_to(api_gateway_answering("403 Forbidden", "ForbiddenException").await).await;
    let error = channel.post("c", &json!({})).await.unwrap_err();
    assert_eq!(error.kind, DeliveryErrorKind::Rejected, "{error}");
}

#[tokio::test]
async fn a_throttled_post_is_unavailable() {
    let channel =
        channel_to(api_gateway_answering("429 Too Many Requests", "LimitExceededException").await)
            .await;
    let error = channel.post("c", &json!({})).await.unwrap_err();
    assert_eq!(error.kind, DeliveryErrorKind::Unavailable, "{error}");
}

#[tokio::test]
async fn push_registry_round_trips_both_records() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let registry = S3PushRegistry::new(moto.s3(), &S3Config::new(&bucket));
    let arn = format!(
        "arn:aws:states:us-east-1:123456789012:execution:sde:{}",
        common::unique("run")
    );

    assert_eq!(registry.connection(&arn).await.unwrap(), None);
    assert_eq!(registry.delivery(&arn).await.unwrap(), None);

    let connection = PushConnection {
        connection_id: "abc123=".into(),
        owner_sub: "sub-1".into(),
        wants_progress: true,
    };
    registry.put_connection(&arn, &connection).await.unwrap();
    assert_eq!(registry.connection(&arn).await.unwrap(), Some(connection));
    assert_eq!(registry.delivery(&arn).await.unwrap(), None);

    let delivery = PendingDelivery {
        frame: json!({"reportURL": "https://x/y.csv"}),
        task_token: Some("token-1".into()),
    };
    registry.put_delivery(&arn, &delivery).await.unwrap();
    assert_eq!(registry.delivery(&arn).await.unwrap(), Some(delivery));

    let other = format!("{arn}-other");
    assert_eq!(registry.connection(&other).await.unwrap(), None);
}

#[tokio::test]
async fn progress_board_writes_the_latest_progress_in_the_background() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let config = S3Config::new(&bucket);
    let board = S3ProgressBoard::with_interval(moto.s3(), &config, Duration::from_millis(200));
    let reader = S3ProgressBoard::new(moto.s3(), &config);
    let export = common::unique("export");

    assert_eq!(reader.read(&export).await, None);
    for rows in 1..=50u64 {
        board.record(
            &export,
            ExportProgress {
                rows_written: rows * 100,
                total_rows: 5000,
            },
        );
    }
    let last = ExportProgress {
        rows_written: 5000,
        total_rows: 5000,
    };
    // The recording board answers from memory at once.
    assert_eq!(board.read(&export).await, Some(last));

    let mut seen = None;
    for _ in 0..100 {
        seen = reader.read(&export).await;
        if seen == Some(last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen,
        Some(last),
        "another instance reads the last progress from s3"
    );

    let stored = moto
        .s3()
        .get_object()
        .bucket(&bucket)
        .key(format!("progress/{export}.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.server_side_encryption().map(|sse| sse.as_str()),
        Some("AES256")
    );
}

#[tokio::test]
async fn progress_board_flush_writes_at_once() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let config = S3Config::new(&bucket);
    let board = S3ProgressBoard::with_interval(moto.s3(), &config, Duration::from_secs(3600));
    let export = common::unique("export");
    let progress = ExportProgress {
        rows_written: 7,
        total_rows: 9,
    };
    board.record(&export, progress);
    board.flush().await;
    let reader = S3ProgressBoard::new(moto.s3(), &config);
    assert_eq!(reader.read(&export).await, Some(progress));
    assert_eq!(reader.read("no/such/export").await, None);
}

#[test]
fn recording_progress_without_a_runtime_does_nothing() {
    // Building the client needs no runtime; recording outside one must neither block nor panic.
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .build();
    let board = S3ProgressBoard::new(
        aws_sdk_s3::Client::from_conf(config),
        &S3Config::new("sde-no-runtime"),
    );
    board.record(
        "export-1",
        ExportProgress {
            rows_written: 1,
            total_rows: 2,
        },
    );
    board.record(
        "../unsafe id",
        ExportProgress {
            rows_written: 1,
            total_rows: 2,
        },
    );
}
