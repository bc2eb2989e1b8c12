//! `SsmSecret` against moto's SSM: SecureString parameters read decrypted, never printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use sde_aws::SsmSecret;

#[tokio::test]
async fn a_secure_string_is_read_decrypted() {
    let moto = moto_or_skip!();
    let name = format!("/sde/test/{}/es-password", common::unique("p"));
    aws_sdk_ssm::Client::new(&moto.sdk)
        .put_parameter()
        .name(&name)
        .value("s3cr3t pässword")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let secret = SsmSecret::new(&moto.sdk).read(&name).await.unwrap();
    assert_eq!(secret.expose(), "s3cr3t pässword");
    assert!(!format!("{secret:?}").contains("s3cr3t"));
}

#[tokio::test]
async fn a_missing_parameter_is_an_error_naming_it() {
    let moto = moto_or_skip!();
    let error = SsmSecret::new(&moto.sdk)
        .read("/sde/test/missing")
        .await
        .unwrap_err();
    assert_eq!(error.parameter, "/sde/test/missing");
    assert!(!error.transient);
    assert!(error.to_string().contains("/sde/test/missing"));
}
