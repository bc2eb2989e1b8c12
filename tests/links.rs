//! Links that last: every channel hands out a link to our own download route, signed and carrying
//! its expiry, which redirects to a URL the store presigns for minutes. Driven with an injected
//! clock, so a link is followed at any point of its life.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sde_core::{ContentInfo, Disposition, DownloadLinks, ObjectKey, ObjectStore, SigningKey};
use sde_edge::rest::{Downloads, REDIRECT_TTL, download_routes};
use sde_localfs::LocalFsStore;
use std::sync::{Arc, Mutex};
use tower::ServiceExt as _;

const API: &str = "https://api.example.com/dev";

struct World {
    store: Arc<LocalFsStore>,
    links: Arc<DownloadLinks>,
    now: Arc<Mutex<DateTime<Utc>>>,
    _dir: tempfile::TempDir,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn content() -> ContentInfo {
    ContentInfo {
        content_type: "text/csv; charset=utf-8".into(),
        download_name: "posts-20261201.csv".into(),
        disposition: Disposition::Attachment,
    }
}

async fn world_with_file(key: &ObjectKey) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalFsStore::open(dir.path(), "http://127.0.0.1:3000").unwrap());
    let mut upload = store.start_upload(key, &content()).await.unwrap();
    upload
        .upload_part(Bytes::from_static(b"a,b\r\n"))
        .await
        .unwrap();
    upload.complete().await.unwrap();
    World {
        store,
        links: Arc::new(DownloadLinks::new(SigningKey::generate(), API)),
        now: Arc::new(Mutex::new(t0())),
        _dir: dir,
    }
}

impl World {
    /// Follows `url` once at `at`: the status, and where it redirects to.
    async fn follow(&self, url: &str, at: DateTime<Utc>) -> (StatusCode, Option<String>, String) {
        *self.now.lock().unwrap() = at;
        let now = self.now.clone();
        let downloads = Downloads {
            store: self.store.clone(),
            links: self.links.clone(),
            clock: Arc::new(move || *now.lock().unwrap()),
        };
        let path = url.strip_prefix(API).unwrap();
        let response = download_routes(downloads)
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            location,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }
}

#[tokio::test]
async fn a_link_works_for_its_whole_life_and_then_says_it_has_expired() {
    let key = ObjectKey::new("exports/u-1/e-1.csv").unwrap();
    let world = world_with_file(&key).await;
    let link = world
        .links
        .issue(&key, &content(), t0() + Duration::hours(24));
    assert!(
        link.expose()
            .starts_with("https://api.example.com/dev/download/exports/u-1/e-1.csv?")
    );

    let (status, location, _) = world
        .follow(
            link.expose(),
            t0() + Duration::hours(23) + Duration::minutes(59),
        )
        .await;
    assert_eq!(status, StatusCode::FOUND, "valid at 23 h 59 m");
    let location = location.expect("a redirect");
    assert!(
        location.starts_with("http://127.0.0.1:3000/files/exports/u-1/e-1.csv?"),
        "{location}"
    );

    let (status, location, page) = world
        .follow(
            link.expose(),
            t0() + Duration::hours(24) + Duration::minutes(1),
        )
        .await;
    assert_eq!(status, StatusCode::GONE, "gone at 24 h 1 m");
    assert_eq!(location, None);
    assert!(page.contains("This download link has expired"), "{page}");
}

#[tokio::test]
async fn the_redirect_is_a_fresh_url_valid_for_minutes_not_a_day() {
    let key = ObjectKey::new("exports/u-1/e-2.csv").unwrap();
    let world = world_with_file(&key).await;
    let link = world
        .links
        .issue(&key, &content(), t0() + Duration::hours(24));
    let (_, location, _) = world.follow(link.expose(), t0()).await;
    let location = location.unwrap();
    let expires: i64 = location
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("expires="))
        .unwrap()
        .parse()
        .unwrap();
    let lifetime = expires - Utc::now().timestamp();
    assert!(
        lifetime > 0 && lifetime <= REDIRECT_TTL.as_secs() as i64,
        "the presigned URL lives {lifetime} s"
    );
}

#[tokio::test]
async fn a_link_to_a_deleted_file_says_it_is_gone_and_a_changed_link_is_refused() {
    let key = ObjectKey::new("exports/u-1/e-3.csv").unwrap();
    let world = world_with_file(&key).await;
    let link = world
        .links
        .issue(&key, &content(), t0() + Duration::hours(24));
    world.store.delete(&key).await.unwrap();
    let (status, _, page) = world.follow(link.expose(), t0() + Duration::hours(1)).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("no longer available"), "{page}");

    let other = ObjectKey::new("exports/u-2/e-9.csv").unwrap();
    let world = world_with_file(&other).await;
    let link = world
        .links
        .issue(&other, &content(), t0() + Duration::hours(24));
    let forged = link.expose().replace("exports/u-2/", "exports/u-3/");
    let (status, location, _) = world.follow(&forged, t0()).await;
    assert_eq!((status, location), (StatusCode::FORBIDDEN, None));
    let stretched = link.expose().replace(
        &format!("expires={}", (t0() + Duration::hours(24)).timestamp()),
        &format!("expires={}", (t0() + Duration::days(30)).timestamp()),
    );
    let (status, _, _) = world.follow(&stretched, t0()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// `GET url` as API Gateway hands it to the `download` function: resource `/download/{proxy+}`,
/// the rest of the path as the `proxy` parameter, the query decoded, and no authorizer.
fn gateway_event(url: &str) -> aws_lambda_events::apigw::ApiGatewayProxyRequest {
    let url = reqwest::Url::parse(url).unwrap();
    let path = url.path().strip_prefix("/dev").unwrap();
    let proxy = path.strip_prefix("/download/").unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apigw/rest-search.json");
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let mut query = serde_json::Map::new();
    let mut multi = serde_json::Map::new();
    for (name, value) in url.query_pairs() {
        query.insert(name.to_string(), serde_json::json!(value));
        multi.insert(name.to_string(), serde_json::json!([value]));
    }
    event["resource"] = serde_json::json!("/download/{proxy+}");
    event["path"] = serde_json::json!(path);
    event["httpMethod"] = serde_json::json!("GET");
    event["pathParameters"] = serde_json::json!({ "proxy": proxy });
    event["queryStringParameters"] = query.into();
    event["multiValueQueryStringParameters"] = multi.into();
    event["headers"] = serde_json::json!({ "Accept": "text/html" });
    event["multiValueHeaders"] = serde_json::json!({ "Accept": ["text/html"] });
    event["body"] = serde_json::Value::Null;
    event["requestContext"]["resourcePath"] = serde_json::json!("/download/{proxy+}");
    event["requestContext"]["httpMethod"] = serde_json::json!("GET");
    event["requestContext"]["authorizer"] = serde_json::json!({});
    serde_json::from_value(event).unwrap()
}

#[tokio::test]
async fn the_download_function_follows_a_link_api_gateway_hands_it() {
    let key = ObjectKey::new("exports/u-1/e-4.csv").unwrap();
    let world = world_with_file(&key).await;
    let link = world
        .links
        .issue(&key, &content(), Utc::now() + Duration::hours(24));
    let function = || {
        sde_lambda::rest::api(
            download_routes(Downloads::new(world.store.clone(), world.links.clone())),
            &sde_edge::rest::CorsOrigin::Any,
        )
    };

    let response = sde_lambda::rest::serve(function(), gateway_event(link.expose())).await;
    assert_eq!(response.status_code, 302, "{:?}", response.body);
    let location = response.headers.get(header::LOCATION).unwrap();
    assert!(
        location
            .to_str()
            .unwrap()
            .starts_with("http://127.0.0.1:3000/files/exports/u-1/e-4.csv?"),
        "{location:?}"
    );

    let altered = link.expose().replace("e-4.csv", "e-5.csv");
    let response = sde_lambda::rest::serve(function(), gateway_event(&altered)).await;
    assert_eq!(response.status_code, 403);
}
