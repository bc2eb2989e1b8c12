//! The local object store against the object-store contract, plus what only it does: signed
//! URL checks, retention and crash safety.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::UrlRefusal;
use sde_core::testing::{object_compose_contract, object_store_contract};
use sde_core::{ContentInfo, Disposition, ObjectKey, ObjectStore, SignedUrl};
use sde_localfs::LocalFsStore;
use std::time::Duration;

fn split(url: &SignedUrl) -> (String, String) {
    let path_and_query = url.expose().strip_prefix("http://sde.test/files/").unwrap();
    let (key, query) = path_and_query.split_once('?').unwrap();
    (key.to_owned(), query.to_owned())
}

/// What the `/files/` route does: check the URL, then read the file if it exists.
fn fetch(store: &LocalFsStore, url: &SignedUrl) -> Option<Vec<u8>> {
    let (key, query) = split(url);
    let download = store.resolve_download(&key, &query).ok()?;
    std::fs::read(download.path).ok()
}

fn content() -> ContentInfo {
    ContentInfo {
        content_type: "text/csv; charset=utf-8".into(),
        download_name: "export.csv".into(),
        disposition: Disposition::Attachment,
    }
}

#[tokio::test]
async fn the_local_store_keeps_the_object_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsStore::open(dir.path(), "http://sde.test")
        .unwrap()
        .with_part_size(1024);
    object_store_contract(&store, "contract", |url| {
        let body = fetch(&store, &url);
        async move { body }
    })
    .await;
    let staging: Vec<_> = std::fs::read_dir(dir.path().join("tmp/uploads"))
        .unwrap()
        .collect();
    assert!(staging.is_empty(), "no staging file is left behind");
}

#[tokio::test]
async fn the_local_store_composes_parts_of_any_size_by_concatenation() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsStore::open(dir.path(), "http://sde.test")
        .unwrap()
        .with_part_size(1024);
    object_compose_contract(&store, "compose", &[3000, 1, 0, 5000, 17], |url| {
        let body = fetch(&store, &url);
        async move { body }
    })
    .await;
    let staging: Vec<_> = std::fs::read_dir(dir.path().join("tmp/uploads"))
        .unwrap()
        .collect();
    assert!(staging.is_empty(), "no staging file is left behind");
}

#[tokio::test]
async fn tampered_and_expired_urls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsStore::open(dir.path(), "http://sde.test").unwrap();
    let key = ObjectKey::new("exports/a.csv").unwrap();
    let mut upload = store.start_upload(&key, &content()).await.unwrap();
    upload
        .upload_part(bytes::Bytes::from_static(b"a,b\r\n"))
        .await
        .unwrap();
    upload.complete().await.unwrap();

    let url = store
        .presign_get(&key, &content(), Duration::from_secs(60))
        .await
        .unwrap();
    let (path, query) = split(&url);
    assert!(store.resolve_download(&path, &query).is_ok());
    assert_eq!(
        store.resolve_download("exports/b.csv", &query),
        Err(UrlRefusal::BadSignature)
    );
    let forged = query.replacen("sig=", "sig=00", 1);
    assert_eq!(
        store.resolve_download(&path, &forged),
        Err(UrlRefusal::BadSignature)
    );

    let expired = store
        .presign_get(&key, &content(), Duration::from_secs(0))
        .await
        .unwrap();
    let (path, query) = split(&expired);
    assert_eq!(
        store.resolve_download(&path, &query),
        Err(UrlRefusal::Expired)
    );
}

#[tokio::test]
async fn a_dropped_upload_leaves_nothing_visible_or_staged() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsStore::open(dir.path(), "http://sde.test").unwrap();
    let key = ObjectKey::new("exports/crashed.csv").unwrap();
    let mut upload = store.start_upload(&key, &content()).await.unwrap();
    upload
        .upload_part(bytes::Bytes::from_static(b"partial"))
        .await
        .unwrap();
    drop(upload);
    assert!(!store.object_path(&key).exists());
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp/uploads"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn objects_older_than_the_retention_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsStore::open(dir.path(), "http://sde.test").unwrap();
    let key = ObjectKey::new("exports/old.csv").unwrap();
    let mut upload = store.start_upload(&key, &content()).await.unwrap();
    upload
        .upload_part(bytes::Bytes::from_static(b"x"))
        .await
        .unwrap();
    upload.complete().await.unwrap();

    assert_eq!(
        store.sweep_expired(Duration::from_secs(3600)).unwrap(),
        0,
        "a fresh object is kept"
    );
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(store.sweep_expired(Duration::from_millis(10)).unwrap(), 1);
    assert!(!store.object_path(&key).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_completes_and_the_sweep_goes_on_while_both_run_at_once() {
    // The sweeper tidies empty owner folders away; an upload completing into one must not fail
    // because the folder vanished between its creation and the rename, nor the sweep because a
    // staged file vanished (renamed into place) while it was looking.
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(LocalFsStore::open(dir.path(), "http://x").unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sweeper = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Nothing is old enough to delete.
                store.sweep_expired(Duration::from_secs(3600)).unwrap();
            }
        })
    };
    let mut failures = Vec::new();
    for n in 0..500 {
        let key = ObjectKey::new(format!("exports/owner/{n}.csv")).unwrap();
        let mut upload = store.start_upload(&key, &content()).await.unwrap();
        upload
            .upload_part(bytes::Bytes::from_static(b"a\n"))
            .await
            .unwrap();
        if let Err(error) = upload.complete().await {
            failures.push(format!("{n}: {error}"));
        }
        // Empty the folder again, so the sweeper may remove it before the next completion.
        store.delete(&key).await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sweeper.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} of 500 failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
}
