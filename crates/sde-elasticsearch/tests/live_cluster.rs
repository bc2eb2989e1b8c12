//! `EsIndex` against a real Elasticsearch or OpenSearch cluster, when `SDE_TEST_ES_URL` names
//! one (e.g. `http://localhost:9200` or `https://user:password@host:9200`; the cluster's
//! certificate must be trusted). The test creates a temporary index with the import's explicit
//! mapping and two shards, bulk-indexes posts built here, runs searches and a full scan, and
//! deletes the index even when a check fails. Without the variable it prints that it was skipped
//! and passes.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use elasticsearch::http::Url;
use elasticsearch::indices::{IndicesCreateParts, IndicesDeleteParts};
use elasticsearch::params::Refresh;
use elasticsearch::{BulkOperation, BulkOperations, BulkParts};
use sde_core::{DateRange, PageRequest, Post, PostQuery, SearchIndex, UserId};
use sde_elasticsearch::{ClientTransport, EsConfig, EsIndex, Secret};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::time::{SystemTime, UNIX_EPOCH};

const POSTS: usize = 45;

fn config_from(url: &str, index: String) -> EsConfig {
    let mut url = Url::parse(url).expect("SDE_TEST_ES_URL is a URL");
    let username = (!url.username().is_empty()).then(|| url.username().to_owned());
    let password = url.password().map(|p| Secret::new(p.to_owned()));
    url.set_username("").unwrap();
    url.set_password(None).unwrap();
    let mut config = EsConfig::new(url.as_str()).unwrap();
    config.index = index;
    config.username = username;
    config.password = password;
    config.validate().unwrap();
    config
}

fn start() -> DateTime<Utc> {
    "2019-07-21T00:00:00Z".parse().unwrap()
}

/// Every third post is about cats (one of them only in its tags), the rest about dogs; ids,
/// dates and authors (numeric and Cognito `sub`) differ per post.
fn posts() -> Vec<Post> {
    (0..POSTS)
        .map(|i| {
            let about_cats = i % 3 == 0;
            let tagged_only = i == 3;
            Post {
                id: format!("live-{i:03}"),
                user_id: if i % 2 == 0 {
                    UserId::Int(i as i64)
                } else {
                    UserId::Text(format!("5b1c{i:04}-0000-4000-8000-00000000000{}", i % 10))
                },
                date_created: start() + Duration::hours(i as i64),
                content: match (about_cats, tagged_only) {
                    (true, false) => format!("post {i}: the cats sat on the \"mat\", again\nok"),
                    _ => format!("post {i}: walked the dogs, ünïcödé ✓"),
                },
                tags: if about_cats {
                    vec!["#cats".into()]
                } else {
                    vec!["#dogs".into()]
                },
            }
        })
        .collect()
}

async fn create_and_fill(transport: &ClientTransport, index: &str) {
    let mut body = sde_dataimport::elasticsearch::index_mapping();
    body["settings"] = json!({"number_of_shards": 2, "number_of_replicas": 0});
    let created = transport
        .client()
        .indices()
        .create(IndicesCreateParts::Index(index))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        created.status_code().is_success(),
        "create index: {}",
        created.text().await.unwrap()
    );

    let mut operations = BulkOperations::new();
    for post in posts() {
        let (id, source) = post.into_source();
        operations
            .push(BulkOperation::index(source).id(id))
            .unwrap();
    }
    let bulk = transport
        .client()
        .bulk(BulkParts::Index(index))
        .body(vec![operations])
        .refresh(Refresh::True)
        .send()
        .await
        .unwrap();
    let answer: Value = bulk.json().await.unwrap();
    assert_eq!(answer["errors"], false, "bulk: {answer}");
}

async fn delete(transport: &ClientTransport, index: &str) {
    let deleted = transport
        .client()
        .indices()
        .delete(IndicesDeleteParts::Index(&[index]))
        .send()
        .await;
    if let Err(error) = deleted {
        eprintln!("could not delete the test index {index}: {error}");
    }
}

async fn checks(index: EsIndex) {
    let index: &dyn SearchIndex = &index;
    let all = posts();
    let cats: BTreeSet<String> = all
        .iter()
        .filter(|p| p.tags.contains(&"#cats".to_owned()))
        .map(|p| p.id.clone())
        .collect();

    // A ranked page with the exact total; "cats" matches content and tags alike.
    let query = PostQuery {
        terms: vec!["cats".into()],
        ..PostQuery::default()
    };
    let page = index
        .search(&query, PageRequest { number: 0, size: 5 })
        .await
        .unwrap();
    assert_eq!(page.total, cats.len() as u64);
    assert_eq!(page.posts.len(), 5);
    assert_eq!(page.warning, None);
    assert!(page.posts.iter().all(|p| cats.contains(&p.id)));

    // Pages concatenate to the whole ranking.
    let mut paged = BTreeSet::new();
    for number in 0..4 {
        let page = index
            .search(&query, PageRequest { number, size: 5 })
            .await
            .unwrap();
        paged.extend(page.posts.into_iter().map(|p| p.id));
    }
    assert_eq!(paged, cats);

    // User text with query syntax is plain words.
    let syntax = PostQuery {
        terms: vec!["cats AND dogs:*".into()],
        ..PostQuery::default()
    };
    assert_eq!(
        index
            .search(
                &syntax,
                PageRequest {
                    number: 0,
                    size: 100
                }
            )
            .await
            .unwrap()
            .total,
        POSTS as u64
    );

    // The date range is half open.
    let range = PostQuery {
        terms: Vec::new(),
        date_range: DateRange {
            from: Some(start() + Duration::hours(10)),
            to: Some(start() + Duration::hours(20)),
        },
    };
    let page = index
        .search(
            &range,
            PageRequest {
                number: 0,
                size: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 10);

    // A page past the end is empty; a deep page inside the results would be refused.
    let past = index
        .search(
            &query,
            PageRequest {
                number: 5_000,
                size: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(past.total, cats.len() as u64);
    assert!(past.posts.is_empty());

    // A full scan in small batches yields every post once, unchanged.
    let mut scan = index
        .scan(&PostQuery::default(), NonZeroUsize::new(7).unwrap())
        .await
        .unwrap();
    assert_eq!(scan.total(), POSTS as u64);
    let mut scanned = Vec::new();
    let mut batch = Vec::new();
    while scan.next_batch(&mut batch).await.unwrap() {
        assert!(batch.len() <= 7);
        scanned.append(&mut batch);
    }
    scan.close().await.unwrap();
    scanned.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(scanned, all);
}

#[tokio::test]
async fn live_cluster_when_sde_test_es_url_is_set() {
    let Ok(url) = std::env::var("SDE_TEST_ES_URL") else {
        eprintln!("skipped: set SDE_TEST_ES_URL to run EsIndex against a live cluster");
        return;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let config = config_from(&url, format!("sde-test-{nanos}"));
    let transport = ClientTransport::new(&config).unwrap();
    let index_name = config.index.clone();
    create_and_fill(&transport, &index_name).await;

    // Checks run in their own task so a failing assertion still lets the index be deleted.
    let outcome = tokio::spawn(checks(EsIndex::new(&config).unwrap())).await;
    delete(&transport, &index_name).await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}
