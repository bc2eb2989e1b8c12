//! `S3Store` against moto's S3: the object-store contract, and what S3 adds to it (encryption,
//! download headers, nothing left behind by aborted or dropped uploads).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use sde_aws::{Encryption, MIN_PART_SIZE, S3Config, S3Store};
use sde_core::{ContentInfo, Disposition, ObjectKey, ObjectStore, SignedUrl, StoreErrorKind};
use std::time::Duration;

/// Downloads `url` like a browser: the body, or `None` when the object is not there.
async fn fetch(url: SignedUrl) -> Option<Vec<u8>> {
    let response = reqwest::get(url.expose()).await.unwrap();
    match response.status().as_u16() {
        200 => Some(response.bytes().await.unwrap().to_vec()),
        403 | 404 => None,
        other => panic!("unexpected status {other} fetching a presigned url"),
    }
}

fn store(moto: &common::Moto, bucket: &str) -> S3Store {
    let mut config = S3Config::new(bucket);
    // moto, like S3, refuses parts under 5 MiB but the last.
    config.part_size = MIN_PART_SIZE;
    S3Store::new(moto.s3(), config)
}

fn csv() -> ContentInfo {
    ContentInfo {
        content_type: "text/csv; charset=utf-8".into(),
        download_name: "Überblick 2024.csv".into(),
        disposition: Disposition::Attachment,
    }
}

async fn open_uploads(moto: &common::Moto, bucket: &str) -> usize {
    let listed = moto
        .s3()
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    listed.uploads().len()
}

/// Stores `bytes` at `key` in one part; returns the size stored.
async fn put_one_part(
    store: &S3Store,
    key: &ObjectKey,
    content: &ContentInfo,
    bytes: &'static [u8],
) -> u64 {
    let mut upload = store.start_upload(key, content).await.unwrap();
    upload.upload_part(Bytes::from_static(bytes)).await.unwrap();
    upload.complete().await.unwrap().bytes
}

/// A response header as text; empty when absent.
fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn s3_store_meets_the_object_store_contract() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let store = store(&moto, &bucket);
    sde_core::testing::object_store_contract(&store, "contract", fetch).await;
    assert_eq!(open_uploads(&moto, &bucket).await, 0);
}

#[tokio::test]
async fn s3_store_meets_the_contract_one_part_at_a_time() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let mut config = S3Config::new(&bucket);
    config.part_size = MIN_PART_SIZE;
    config.parts_in_flight = 1;
    let store = S3Store::new(moto.s3(), config);
    sde_core::testing::object_store_contract(&store, "serial", fetch).await;
    assert_eq!(open_uploads(&moto, &bucket).await, 0);
}

#[tokio::test]
async fn s3_store_composes_skewed_slices_with_upload_part_copy() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let store = store(&moto, &bucket);
    let mib = 1024 * 1024;
    // A skewed export: a big first slice, a tiny one, an empty one, one over two parts' worth
    // and a short last one. Copying each as it is would put parts under 5 MiB in the middle.
    let sizes = [6 * mib, 1024, 0, 12 * mib + 5, 2 * mib];
    sde_core::testing::object_compose_contract(&store, "compose", &sizes, fetch).await;
    assert_eq!(
        open_uploads(&moto, &bucket).await,
        0,
        "failed compositions are aborted"
    );
}

#[tokio::test]
async fn moto_refuses_a_middle_part_under_five_mib_as_s3_does() {
    // What makes the composition test above prove something: copying a small slice as a part
    // of its own fails when the upload completes.
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let store = store(&moto, &bucket);
    let small = ObjectKey::new("naive/small.part").unwrap();
    let big = ObjectKey::new("naive/big.part").unwrap();
    put_one_part(&store, &small, &csv(), b"just a few bytes").await;
    let mut upload = store.start_upload(&big, &csv()).await.unwrap();
    upload
        .upload_part(Bytes::from(vec![b'x'; MIN_PART_SIZE]))
        .await
        .unwrap();
    upload.complete().await.unwrap();
    let s3 = moto.s3();
    let started = s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key("naive/composed")
        .send()
        .await
        .unwrap();
    let upload_id = started.upload_id().unwrap();
    let mut parts = Vec::new();
    for (number, source) in [(1, &small), (2, &big)] {
        let copied = s3
            .upload_part_copy()
            .bucket(&bucket)
            .key("naive/composed")
            .upload_id(upload_id)
            .part_number(number)
            .copy_source(format!("{bucket}/{source}"))
            .send()
            .await
            .unwrap();
        let e_tag = copied
            .copy_part_result()
            .unwrap()
            .e_tag()
            .unwrap()
            .to_owned();
        parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(number)
                .e_tag(e_tag)
                .build(),
        );
    }
    let completed = s3
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("naive/composed")
        .upload_id(upload_id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await;
    let error = completed.unwrap_err();
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&error),
        Some("EntityTooSmall")
    );
}

#[tokio::test]
async fn objects_are_encrypted_and_downloads_carry_their_name_and_type() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let store = store(&moto, &bucket);
    let key = ObjectKey::new("exports/u-1/run.csv").unwrap();
    assert_eq!(put_one_part(&store, &key, &csv(), b"a,b\n1,2\n").await, 8);

    let head = moto
        .s3()
        .head_object()
        .bucket(&bucket)
        .key(key.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|sse| sse.as_str()),
        Some("AES256")
    );
    assert_eq!(head.content_type(), Some("text/csv; charset=utf-8"));
    assert_eq!(
        head.content_disposition(),
        Some(
            "attachment; filename=\"_berblick 2024.csv\"; filename*=UTF-8''%C3%9Cberblick%202024.csv"
        )
    );

    let url = store
        .presign_get(&key, &csv(), Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(
        url.expose().contains("X-Amz-Signature="),
        "{}",
        url.expose()
    );
    assert!(
        url.expose().contains("X-Amz-Expires=3600"),
        "{}",
        url.expose()
    );
    let response = reqwest::get(url.expose()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "text/csv; charset=utf-8");
    let disposition = header(&response, "content-disposition");
    assert!(disposition.starts_with("attachment; "), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''%C3%9Cberblick%202024.csv"),
        "{disposition}"
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"a,b\n1,2\n");
}

#[tokio::test]
async fn a_link_signed_inline_is_served_inline_whatever_the_object_was_stored_as() {
    // A chart is stored once; the page shows it (`inline`, for an `<img src>`) and the person
    // downloads it (`attachment`) from links to that one object: S3 must answer each presigned
    // URL with the disposition the link asked for, not the one stored with the object.
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let store = store(&moto, &bucket);
    let key = ObjectKey::new("reports/u-1/chart.svg").unwrap();
    let svg = |disposition| ContentInfo {
        content_type: "image/svg+xml".into(),
        download_name: "post-frequency.svg".into(),
        disposition,
    };
    let svg_text = b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    put_one_part(&store, &key, &svg(Disposition::Attachment), svg_text).await;

    for (disposition, expected) in [
        (Disposition::Inline, "inline; "),
        (Disposition::Attachment, "attachment; "),
    ] {
        let url = store
            .presign_get(&key, &svg(disposition), Duration::from_secs(300))
            .await
            .unwrap();
        let response = reqwest::get(url.expose()).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), "image/svg+xml");
        let served = header(&response, "content-disposition");
        assert!(served.starts_with(expected), "{disposition:?}: {served}");
        assert!(served.contains("post-frequency.svg"), "{served}");
    }
}

#[tokio::test]
async fn a_kms_key_selects_sse_kms() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let mut config = S3Config::new(&bucket);
    config.encryption = Encryption::Kms {
        key_id: "alias/sde-exports".into(),
    };
    let store = S3Store::new(moto.s3(), config);
    let key = ObjectKey::new("exports/kms.csv").unwrap();
    put_one_part(&store, &key, &csv(), b"x").await;
    let head = moto
        .s3()
        .head_object()
        .bucket(&bucket)
        .key(key.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|sse| sse.as_str()),
        Some("aws:kms")
    );
    assert_eq!(head.ssekms_key_id(), Some("alias/sde-exports"));
}

#[tokio::test]
async fn an_aborted_upload_leaves_no_object_and_no_upload() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let store = store(&moto, &bucket);
    let key = ObjectKey::new("exports/aborted.csv").unwrap();
    let mut upload = store.start_upload(&key, &csv()).await.unwrap();
    upload
        .upload_part(Bytes::from(vec![b'x'; MIN_PART_SIZE]))
        .await
        .unwrap();
    upload
        .upload_part(Bytes::from(vec![b'y'; MIN_PART_SIZE]))
        .await
        .unwrap();
    assert_eq!(open_uploads(&moto, &bucket).await, 1);
    upload.abort().await.unwrap();
    assert_eq!(open_uploads(&moto, &bucket).await, 0);
    let listed = moto
        .s3()
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0));
}

#[tokio::test]
async fn a_dropped_upload_is_aborted_in_the_background() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let store = store(&moto, &bucket);
    let key = ObjectKey::new("exports/dropped.csv").unwrap();
    let mut upload = store.start_upload(&key, &csv()).await.unwrap();
    upload.upload_part(Bytes::from_static(b"x")).await.unwrap();
    drop(upload);
    for _ in 0..100 {
        if open_uploads(&moto, &bucket).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the dropped upload was never aborted");
}

#[tokio::test]
async fn a_refused_completion_fails_and_cleans_up() {
    let moto = moto_or_skip!();
    let bucket = moto.bucket().await;
    let mut config = S3Config::new(&bucket);
    config.part_size = 1024;
    let store = S3Store::new(moto.s3(), config);
    let key = ObjectKey::new("exports/too-small.csv").unwrap();
    let mut upload = store.start_upload(&key, &csv()).await.unwrap();
    upload
        .upload_part(Bytes::from(vec![b'x'; 1024]))
        .await
        .unwrap();
    upload
        .upload_part(Bytes::from_static(b"end"))
        .await
        .unwrap();
    let error = upload.complete().await.unwrap_err();
    assert_eq!(error.kind, StoreErrorKind::Denied, "{error}");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the cause is kept"
    );
    assert_eq!(open_uploads(&moto, &bucket).await, 0);
}

#[tokio::test]
async fn a_missing_bucket_is_refused_not_retried() {
    let moto = moto_or_skip!();
    let store = S3Store::new(moto.s3(), S3Config::new(common::unique("sde-missing")));
    let key = ObjectKey::new("exports/x.csv").unwrap();
    let error = store.start_upload(&key, &csv()).await.err().unwrap();
    assert_eq!(error.kind, StoreErrorKind::Denied, "{error}");
    assert!(!error.kind.is_transient());
}

#[tokio::test]
async fn an_unreachable_store_is_unavailable() {
    // Nothing listens on port 9 of the loopback interface.
    let sdk = sde_aws::sdk_config_for_endpoint("http://127.0.0.1:9", "us-east-1", "t", "t").await;
    let store = S3Store::new(sde_aws::s3_client(&sdk), S3Config::new("sde-unreachable"));
    let key = ObjectKey::new("exports/x.csv").unwrap();
    let error = store.start_upload(&key, &csv()).await.err().unwrap();
    assert_eq!(error.kind, StoreErrorKind::Unavailable, "{error}");
    assert!(std::error::Error::source(&error).is_some());
}
