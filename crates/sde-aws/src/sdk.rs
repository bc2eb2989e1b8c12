//! Loading the one SDK configuration every adapter is built from, and the S3 client that goes
//! with it.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::{Credentials, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The HTTP client every SDK client uses: hyper 1 with rustls on `ring` (no C toolchain for
/// aws-lc needed, and the same crypto backend as the rest of the workspace).
fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Loads the SDK configuration from the environment the usual way (region, credentials of the
/// Lambda role, `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` overrides). Call it once at
/// cold start and share the result.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}

/// An SDK configuration for an emulator or other fixed endpoint with static credentials, e.g.
/// moto in the tests. Nothing is read from the environment.
pub async fn sdk_config_for_endpoint(
    endpoint_url: &str,
    region: &str,
    access_key_id: &str,
    secret_access_key: &str,
) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .endpoint_url(endpoint_url)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "sde-static",
        ))
        .load()
        .await
}

/// An S3 client for `config`. With an endpoint override (an emulator, a VPC endpoint given as
/// a URL) it addresses buckets by path, since such endpoints rarely resolve
/// `<bucket>.<host>` names.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = config.endpoint_url().is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some_and(|url| !url.is_empty());
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}
