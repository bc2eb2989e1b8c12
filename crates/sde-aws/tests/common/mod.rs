//! What every moto-backed test needs: the server's URL (or a clear skip), an SDK configuration
//! pointed at it with dummy credentials, and fresh resource names; and, where moto falls short,
//! a stand-in for API Gateway's management API ([`api_gateway`]) and relays in front of moto
//! that keep the requests sent to it or pass them one at a time ([`relay`]).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod api_gateway;
pub mod relay;

use aws_config::SdkConfig;

/// A moto server to test against.
pub struct Moto {
    pub url: String,
    pub sdk: SdkConfig,
}

/// The moto server named by `SDE_TEST_MOTO_URL`. Without it the test fails under CI and is
/// skipped (with a note) elsewhere, so a dev box without moto stays green but CI never skips.
pub async fn moto() -> Option<Moto> {
    let url = match std::env::var("SDE_TEST_MOTO_URL") {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "SDE_TEST_MOTO_URL is not set, and CI never skips the AWS adapter tests: run \
                 `eval \"$(bash scripts/moto.sh start)\"` before `cargo test`"
            );
            eprintln!("skipped: set SDE_TEST_MOTO_URL (scripts/moto.sh start)");
            return None;
        }
    };
    let sdk = sde_aws::sdk_config_for_endpoint(&url, "us-east-1", "testing", "testing").await;
    Some(Moto { url, sdk })
}

/// Evaluates to the moto server, or returns from the test when it is skipped.
#[macro_export]
macro_rules! moto_or_skip {
    () => {
        match common::moto().await {
            Some(moto) => moto,
            None => return,
        }
    };
}

/// A name no other test (or earlier run against the same server) uses.
pub use sde_core::testing::unique;

impl Moto {
    /// An S3 client for the server.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        sde_aws::s3_client(&self.sdk)
    }

    /// A new, empty bucket.
    pub async fn bucket(&self) -> String {
        let name = unique("sde-test");
        self.s3()
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .unwrap();
        name
    }

    /// moto's view of every model it holds (sent mail among them).
    pub async fn data(&self) -> serde_json::Value {
        let response = reqwest::get(format!("{}/moto-api/data.json", self.url))
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "data.json: {}",
            response.status()
        );
        response.json().await.unwrap()
    }
}

/// The `Content-Length` an HTTP/1.1 request or response head names (0 without one).
pub fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0)
}
