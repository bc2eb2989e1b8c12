//! `load_sdk_config` reads the standard AWS environment, `AWS_ENDPOINT_URL` included, and the S3
//! client it makes then addresses buckets by path. The environment is set for a child process
//! running this same test, never for the test process itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

const CHILD: &str = "SDE_AWS_TEST_CHILD";
const TEST: &str = "the_environment_points_every_client_at_the_endpoint";

#[tokio::test]
async fn the_environment_points_every_client_at_the_endpoint() {
    if let Some(expected) = std::env::var_os(CHILD) {
        let sdk = sde_aws::load_sdk_config().await;
        assert_eq!(sdk.endpoint_url(), expected.to_str());
        assert_eq!(
            sdk.region().map(|region| region.as_ref()),
            Some("us-east-1")
        );
        let bucket = common::unique("sde-env");
        let s3 = sde_aws::s3_client(&sdk);
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        s3.head_bucket().bucket(&bucket).send().await.unwrap();
        return;
    }
    let moto = moto_or_skip!();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, &moto.url)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"));
}
