//! The `ObjectStore` contract: multipart uploads read back byte for byte through presigned
//! URLs, aborted and in-progress uploads stay invisible, an empty file is one empty part, and a
//! completed upload replaces what was there. Run by `LocalFsStore`'s tests and by `S3Store`'s
//! against moto.

use crate::store::{ContentInfo, Disposition, ObjectKey, ObjectStore, SignedUrl};
use bytes::Bytes;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Runs the object-store contract against `store`. `fetch` downloads a signed URL the way a
/// browser would and returns the body, or `None` when the object is not there (404/403).
/// `prefix` keeps runs apart in a shared store.
pub async fn object_store_contract<F, Fut>(store: &dyn ObjectStore, prefix: &str, fetch: F)
where
    F: Fn(SignedUrl) -> Fut,
    Fut: Future<Output = Option<Vec<u8>>>,
{
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let key = |name: &str| ObjectKey::new(format!("{prefix}/{run}/{name}")).unwrap();
    let content = ContentInfo {
        content_type: "text/csv; charset=utf-8".into(),
        download_name: "export.csv".into(),
        disposition: Disposition::Attachment,
    };
    let ttl = Duration::from_secs(600);

    // A three-part upload with a short last part reads back byte for byte.
    let three_parts = key("three-parts.csv");
    let mut upload = store.start_upload(&three_parts, &content).await.unwrap();
    let part_size = upload.part_size();
    let expected: Vec<u8> = (0..2 * part_size + 17).map(|i| (i % 251) as u8).collect();
    upload
        .upload_part(Bytes::copy_from_slice(&expected[..part_size]))
        .await
        .unwrap();
    upload
        .upload_part(Bytes::copy_from_slice(&expected[part_size..2 * part_size]))
        .await
        .unwrap();
    let url = store
        .presign_get(&three_parts, &content, ttl)
        .await
        .unwrap();
    assert_eq!(
        fetch(url.clone()).await,
        None,
        "an upload in progress is not visible"
    );
    upload
        .upload_part(Bytes::copy_from_slice(&expected[2 * part_size..]))
        .await
        .unwrap();
    let stored = upload.complete().await.unwrap();
    assert_eq!(stored.key, three_parts);
    assert_eq!(stored.bytes, expected.len() as u64);
    assert!(
        fetch(url).await == Some(expected),
        "the presigned URL returns the uploaded bytes"
    );

    // An aborted upload leaves nothing behind.
    let aborted = key("aborted.csv");
    let mut upload = store.start_upload(&aborted, &content).await.unwrap();
    upload
        .upload_part(Bytes::from(vec![b'x'; part_size]))
        .await
        .unwrap();
    upload.abort().await.unwrap();
    let url = store.presign_get(&aborted, &content, ttl).await.unwrap();
    assert_eq!(fetch(url).await, None, "an aborted upload is not visible");

    // An empty file is one empty part.
    let empty = key("empty.csv");
    let mut upload = store.start_upload(&empty, &content).await.unwrap();
    upload.upload_part(Bytes::new()).await.unwrap();
    assert_eq!(upload.complete().await.unwrap().bytes, 0);
    let url = store.presign_get(&empty, &content, ttl).await.unwrap();
    assert_eq!(fetch(url).await, Some(Vec::new()));

    // A completed upload replaces what was there.
    let mut upload = store.start_upload(&empty, &content).await.unwrap();
    upload
        .upload_part(Bytes::from_static(b"second"))
        .await
        .unwrap();
    upload.complete().await.unwrap();
    let url = store.presign_get(&empty, &content, ttl).await.unwrap();
    assert_eq!(fetch(url.clone()).await, Some(b"second".to_vec()));
    assert!(
        url.expires_at() > chrono::Utc::now() + chrono::Duration::seconds(590),
        "the URL lives as long as asked"
    );

    // A stored object exists until it is deleted; deleting it again is no error.
    assert!(
        store.exists(&empty).await.unwrap(),
        "a completed object exists"
    );
    assert!(
        !store.exists(&aborted).await.unwrap(),
        "an aborted upload does not exist"
    );
    store.delete(&empty).await.unwrap();
    assert!(
        !store.exists(&empty).await.unwrap(),
        "a deleted object is gone"
    );
    assert_eq!(fetch(url).await, None, "its URL no longer serves it");
    store.delete(&empty).await.unwrap();
    let mut in_progress = store
        .start_upload(&key("in-progress.csv"), &content)
        .await
        .unwrap();
    in_progress
        .upload_part(Bytes::from_static(b"partial"))
        .await
        .unwrap();
    assert!(
        !store.exists(&key("in-progress.csv")).await.unwrap(),
        "an upload in progress does not exist yet"
    );
    in_progress.abort().await.unwrap();
}

/// Runs the composition contract against `store`: objects of `sizes` bytes (any mix, empty
/// ones included) composed in order read back as their concatenation, the parts stay, nothing
/// of the target is left after a missing part, and no parts compose to an empty object. Pass
/// sizes that make the store's own limits bite (on S3: parts under 5 MiB in the middle).
pub async fn object_compose_contract<F, Fut>(
    store: &dyn ObjectStore,
    prefix: &str,
    sizes: &[usize],
    fetch: F,
) where
    F: Fn(SignedUrl) -> Fut,
    Fut: Future<Output = Option<Vec<u8>>>,
{
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let key = |name: &str| ObjectKey::new(format!("{prefix}/{run}/{name}")).unwrap();
    let content = ContentInfo {
        content_type: "text/csv; charset=utf-8".into(),
        download_name: "composed.csv".into(),
        disposition: Disposition::Attachment,
    };
    let ttl = Duration::from_secs(600);

    let mut parts = Vec::new();
    let mut expected = Vec::new();
    for (n, &size) in sizes.iter().enumerate() {
        let part = key(&format!("slices/{n}.part"));
        // Each part's bytes differ from its neighbours', so a part out of place shows.
        let bytes: Vec<u8> = (0..size).map(|i| ((i + 7 * n) % 251) as u8).collect();
        let mut upload = store.start_upload(&part, &content).await.unwrap();
        let part_size = upload.part_size().max(1);
        for chunk in bytes.chunks(part_size) {
            upload
                .upload_part(Bytes::copy_from_slice(chunk))
                .await
                .unwrap();
        }
        if bytes.is_empty() {
            upload.upload_part(Bytes::new()).await.unwrap();
        }
        upload.complete().await.unwrap();
        expected.extend_from_slice(&bytes);
        parts.push(part);
    }

    let target = key("composed.csv");
    let composed = store.compose(&target, &parts, &content).await.unwrap();
    assert_eq!(composed.key, target);
    assert_eq!(composed.bytes, expected.len() as u64);
    let url = store.presign_get(&target, &content, ttl).await.unwrap();
    assert!(
        fetch(url).await == Some(expected),
        "the composed object is the parts' concatenation in order"
    );
    for part in &parts {
        assert!(store.exists(part).await.unwrap(), "the parts stay");
    }

    // A missing part fails the whole, and nothing appears under the target.
    let broken = key("broken.csv");
    let mut with_a_gap = parts.clone();
    with_a_gap.insert(with_a_gap.len() / 2, key("slices/missing.part"));
    let error = store
        .compose(&broken, &with_a_gap, &content)
        .await
        .unwrap_err();
    assert_eq!(error.kind, crate::store::StoreErrorKind::NotFound);
    assert!(!store.exists(&broken).await.unwrap());

    // Nothing composed is an empty object.
    let empty = key("empty.csv");
    assert_eq!(store.compose(&empty, &[], &content).await.unwrap().bytes, 0);
    let url = store.presign_get(&empty, &content, ttl).await.unwrap();
    assert_eq!(fetch(url).await, Some(Vec::new()));

    for part in parts {
        store.delete(&part).await.unwrap();
    }
    store.delete(&target).await.unwrap();
    store.delete(&empty).await.unwrap();
}
