//! The delivery adapters, each running its trait's contract (`sde_core::testing`): `SesMailer`,
//! `S3PushRegistry` and `S3ProgressBoard` against moto (the mailer's text body read from its
//! request, through a relay, since moto keeps only the HTML body), and `ApiGatewayPushChannel`
//! against a stand-in for API Gateway's management API, since moto's cannot say a client has
//! gone nor show what was posted. Beside them, what only an adapter does: SES refusing an
//! unverified sender, API Gateway refusals mapped to error kinds, the board writing from the
//! background and doing nothing without a runtime.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use async_trait::async_trait;
use common::api_gateway::StandInApiGateway;
use common::relay::RecordingRelay;
use sde_aws::{
    ApiGatewayPushChannel, PushConfig, S3Config, S3ProgressBoard, S3PushRegistry, SesConfig,
    SesMailer,
};
use sde_core::testing::{
    DeliveredEmail, PushClients, mailer_contract, progress_board_contract, push_channel_contract,
    push_registry_contract,
};
use sde_core::{
    DeliveryErrorKind, EmailMessage, ExportProgress, Mailer, PostOutcome, ProgressBoard,
    PushChannel,
};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn ses_mailer_keeps_the_mailer_contract() {
    let moto = moto_or_skip!();
    let sender = format!("{}@example.com", common::unique("exports"));
    aws_sdk_sesv2::Client::new(&moto.sdk)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    // moto keeps only the HTML body of a message with both; the relay keeps the request.
    let relay = RecordingRelay::start(&moto.url).await;
    let sdk = sde_aws::sdk_config_for_endpoint(&relay.url, "us-east-1", "testing", "testing").await;
    let mailer = SesMailer::new(
        &sdk,
        SesConfig {
            from: sender.clone(),
            configuration_set: None,
        },
    );
    let (moto, sender, relay) = (&moto, &sender, &relay);
    mailer_contract(&mailer, |id| async move {
        let data = moto.data().await;
        let sent = data["ses"]["Message"]
            .as_array()?
            .iter()
            .find(|sent| sent["id"] == id.as_str())?
            .clone();
        assert_eq!(
            sent["source"],
            sender.as_str(),
            "sent as the configured sender"
        );
        let subject = sent["subject"].as_str()?.to_owned();
        let request = relay
            .json_bodies()
            .into_iter()
            .find(|body| body["Content"]["Simple"]["Subject"]["Data"] == subject.as_str())?;
        let text = &request["Content"]["Simple"]["Body"]["Text"];
        // moto does not keep custom headers either: they are read from the request.
        let header = |name: &str| {
            request["Content"]["Simple"]["Headers"]
                .as_array()?
                .iter()
                .find(|header| header["Name"] == name)
                .and_then(|header| header["Value"].as_str())
                .map(str::to_owned)
        };
        assert_eq!(text["Charset"], "UTF-8", "{request}");
        Some(DeliveredEmail {
            to: sent["destinations"]["ToAddresses"]
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            subject,
            text: text["Data"].as_str()?.to_owned(),
            html: sent["body"].as_str()?.to_owned(),
            list_unsubscribe: header("List-Unsubscribe"),
            list_unsubscribe_post: header("List-Unsubscribe-Post"),
        })
    })
    .await;
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
            unsubscribe: None,
        })
        .await
        .unwrap_err();
    assert_eq!(error.kind, DeliveryErrorKind::Rejected, "{error}");
    assert!(std::error::Error::source(&error).is_some());
}

async fn channel_to(endpoint: String) -> ApiGatewayPushChannel {
    let sdk = sde_aws::sdk_config_for_endpoint(&endpoint, "us-east-1", "t", "t").await;
    ApiGatewayPushChannel::new(&sdk, &PushConfig { endpoint })
}

#[async_trait]
impl PushClients for StandInApiGateway {
    async fn connect(&self) -> String {
        self.open()
    }

    async fn received(&self, connection_id: &str) -> Vec<String> {
        self.posted(connection_id)
    }

    async fn leave(&self, connection_id: &str) {
        self.close(connection_id);
    }
}

#[tokio::test]
async fn api_gateway_channel_keeps_the_push_channel_contract() {
    let api = StandInApiGateway::start().await;
    let channel = channel_to(api.url.clone()).await;
    push_channel_contract(&channel, &api).await;
}

#[tokio::test]
async fn the_channel_reaches_motos_management_api_at_the_endpoint_without_a_stage_path() {
    let moto = moto_or_skip!();
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

#[tokio::test]
async fn a_forbidden_post_is_rejected() {
    let api = StandInApiGateway::refusing("403 Forbidden", "ForbiddenException").await;
    let error = channel_to(api.url.clone())
        .await
        .post("c", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(error.kind, DeliveryErrorKind::Rejected, "{error}");
}

#[tokio::test]
async fn a_throttled_post_is_unavailable() {
    let api = StandInApiGateway::refusing("429 Too Many Requests", "LimitExceededException").await;
    let error = channel_to(api.url.clone())
        .await
        .post("c", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(error.kind, DeliveryErrorKind::Unavailable, "{error}");
}

#[tokio::test]
async fn s3_push_registry_keeps_the_push_registry_contract() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let registry = S3PushRegistry::new(moto.s3(), &S3Config::new(&bucket));
    push_registry_contract(&registry).await;
}

#[tokio::test]
async fn s3_progress_board_keeps_the_progress_board_contract() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let config = S3Config::new(&bucket);
    // Written only when flushed, so the contract sees the flush do the work.
    let board = S3ProgressBoard::with_interval(moto.s3(), &config, Duration::from_secs(3600));
    // report-status reads through another function's instance.
    let reader = S3ProgressBoard::new(moto.s3(), &config);
    progress_board_contract(&board, &reader, || board.flush()).await;
}

#[tokio::test]
async fn progress_board_writes_the_latest_progress_in_the_background() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let config = S3Config::new(&bucket);
    let board = S3ProgressBoard::with_interval(moto.s3(), &config, Duration::from_millis(200));
    let reader = S3ProgressBoard::new(moto.s3(), &config);
    let export = common::unique("export");

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
        "another instance reads the last progress from s3 without a flush"
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
async fn each_slice_keeps_its_own_progress_object_under_the_export() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let config = S3Config::new(&bucket);
    let board = S3ProgressBoard::with_interval(moto.s3(), &config, Duration::from_secs(3600));
    let export = common::unique("owner_export");
    let at = |rows_written, total_rows| ExportProgress {
        rows_written,
        total_rows,
    };
    for index in 0..2 {
        let id = sde_core::slice_progress_id(&export, sde_core::Slice { index, count: 2 });
        board.record(&id, at(u64::from(index) + 1, 10));
    }
    board.flush().await;
    let listed = moto
        .s3()
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(format!("progress/{export}"))
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [
            format!("progress/{export}/slice-0-of-2.json"),
            format!("progress/{export}/slice-1-of-2.json")
        ]
    );
    // A slice's own id still reads its own progress.
    let reader = S3ProgressBoard::new(moto.s3(), &config);
    let second = sde_core::slice_progress_id(&export, sde_core::Slice { index: 1, count: 2 });
    assert_eq!(reader.read(&second).await, Some(at(2, 10)));
    assert_eq!(reader.read(&export).await, Some(at(3, 20)));
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
