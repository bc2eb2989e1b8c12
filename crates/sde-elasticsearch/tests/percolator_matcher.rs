//! `PercolatorMatcher` through the real client against the fake cluster of
//! `sde_elasticsearch::testing`, which records each request and answers with hand-written bodies
//! in the shapes the engines document for the create, delete and search (percolate) APIs:
//! the paths, methods and bodies sent (the stored query is the one `/search` builds for the
//! term), every page of matches read with `search_after`, held and absent documents accepted,
//! and every failure an error of the right kind. The contract itself runs against a real
//! cluster in `live_cluster.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sde_core::{
    Post, PostQuery, Subscription, SubscriptionMatcher, SubscriptionTerm, SubscriptionsErrorKind,
    UserId,
};
use sde_elasticsearch::percolator::{DEFAULT_PAGE_SIZE, document_id};
use sde_elasticsearch::testing::{FakeCluster, Reply, Seen};
use sde_elasticsearch::{EsConfig, PercolatorMatcher, query};
use serde_json::{Value, json};

const ADA: &str = "5b1c0001-0000-4000-8000-000000000001";

fn matcher(cluster: &FakeCluster) -> PercolatorMatcher {
    PercolatorMatcher::new(&EsConfig::new(cluster.url()).unwrap(), "subscriptions").unwrap()
}

fn term(text: &str) -> SubscriptionTerm {
    SubscriptionTerm::parse(text).unwrap()
}

fn post() -> Post {
    Post {
        id: "c0ffee00-0001".into(),
        user_id: UserId::Text("author".into()),
        date_created: "2026-03-01T09:30:00Z".parse().unwrap(),
        content: "A hot day at the \"harbour\" — ünïcödé".into(),
        tags: vec!["#summer".into(), "#Dogs".into()],
    }
}

/// What the create API answers for a new document (201).
fn created(id: &str) -> Value {
    json!({"_index": "subscriptions", "_id": id, "_version": 1, "result": "created",
           "_shards": {"total": 2, "successful": 1, "failed": 0},
           "_seq_no": 0, "_primary_term": 1})
}

/// What the create API answers for an id already taken (409).
fn conflict(id: &str) -> Value {
    let reason = format!("[{id}]: version conflict, document already exists (current version [1])");
    json!({"error": {
        "root_cause": [{"type": "version_conflict_engine_exception", "reason": reason,
                        "index": "subscriptions", "shard": "0", "index_uuid": "Xq3c1S0bQ2m"}],
        "type": "version_conflict_engine_exception", "reason": reason,
        "index": "subscriptions", "shard": "0", "index_uuid": "Xq3c1S0bQ2m"},
        "status": 409})
}

fn index_missing() -> Value {
    json!({"error": {
        "root_cause": [{"type": "index_not_found_exception", "reason": "no such index [subscriptions]",
                        "index": "subscriptions", "resource.type": "index_or_alias",
                        "resource.id": "subscriptions", "index_uuid": "_na_"}],
        "type": "index_not_found_exception", "reason": "no such index [subscriptions]",
        "index": "subscriptions", "resource.type": "index_or_alias",
        "resource.id": "subscriptions", "index_uuid": "_na_"},
        "status": 404})
}

/// A percolate search answer holding `hits`, each `(user, term, key)`, with `sort` values as a
/// sorted search returns them (no total: the request does not track it).
fn percolate_page(hits: &[(&str, &str, &str)]) -> Value {
    let hits: Vec<Value> = hits
        .iter()
        .map(|&(user, term, key)| {
            json!({"_index": "subscriptions", "_id": key, "_score": null,
                   "_source": {"user": user, "term": term, "key": key},
                   "sort": [key], "fields": {"_percolator_document_slot": [0]}})
        })
        .collect();
    json!({"took": 4, "timed_out": false,
           "_shards": {"total": 2, "successful": 2, "skipped": 0, "failed": 0},
           "hits": {"max_score": null, "hits": hits}})
}

#[tokio::test]
async fn subscribing_creates_the_search_query_under_the_users_term_id_once() {
    let id = document_id(ADA, "hot dog");
    let seen_id = id.clone();
    let cluster = FakeCluster::start(move |_, n| {
        if n == 0 {
            Reply::value(201, &created(&seen_id))
        } else {
            Reply::value(409, &conflict(&seen_id))
        }
    })
    .await;
    let matcher = matcher(&cluster);
    matcher.subscribed(ADA, &term(" Hot Dog ")).await.unwrap();
    matcher
        .subscribed(ADA, &term("HOT DOG"))
        .await
        .expect("a held term is no error");

    let requests = cluster.seen();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.method, "PUT");
        assert_eq!(
            request.target,
            format!("/subscriptions/_create/{id}?refresh=wait_for")
        );
    }
    // The query is exactly the clause `/search` puts under `bool.must` for the term.
    let search = query::query_clause(&PostQuery {
        terms: vec!["Hot Dog".into()],
        ..PostQuery::default()
    });
    assert_eq!(
        requests[0].json(),
        json!({"query": search["bool"]["must"][0], "user": ADA, "term": "Hot Dog", "key": id})
    );
    assert_eq!(requests[1].json()["term"], "HOT DOG");
}

#[tokio::test]
async fn unsubscribing_deletes_that_document_without_a_body_and_an_absent_one_is_fine() {
    let cluster = FakeCluster::start(|seen: &Seen, _| {
        let id = seen.path().rsplit('/').next().unwrap().to_owned();
        let status = if id == document_id(ADA, "dog") {
            200
        } else {
            404
        };
        let result = if status == 200 {
            "deleted"
        } else {
            "not_found"
        };
        Reply::value(
            status,
            &json!({"_index": "subscriptions", "_id": id, "_version": 2, "result": result,
                    "_shards": {"total": 2, "successful": 1, "failed": 0},
                    "_seq_no": 1, "_primary_term": 1}),
        )
    })
    .await;
    let matcher = matcher(&cluster);
    matcher.unsubscribed(ADA, &term("DOG")).await.unwrap();
    matcher.unsubscribed(ADA, &term("hot dog")).await.unwrap();

    let requests = cluster.seen();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "DELETE");
    assert_eq!(
        requests[0].target,
        format!(
            "/subscriptions/_doc/{}?refresh=wait_for",
            document_id(ADA, "dog")
        )
    );
    assert!(
        requests[0].body.is_empty(),
        "a document delete takes no body"
    );
    assert_eq!(
        requests[1].path(),
        format!("/subscriptions/_doc/{}", document_id(ADA, "hot dog"))
    );
}

#[tokio::test]
async fn a_missing_index_is_an_error_not_an_absent_document() {
    let cluster = FakeCluster::start(|_, _| Reply::value(404, &index_missing())).await;
    let matcher = matcher(&cluster);
    let error = matcher.unsubscribed(ADA, &term("dog")).await.unwrap_err();
    assert_eq!(error.kind, SubscriptionsErrorKind::Unavailable);
    let error = matcher.subscribed(ADA, &term("dog")).await.unwrap_err();
    assert_eq!(error.kind, SubscriptionsErrorKind::Unavailable);
    let error = matcher.matching(&post()).await.unwrap_err();
    assert_eq!(error.kind, SubscriptionsErrorKind::Unavailable);
}

#[tokio::test]
async fn matching_percolates_the_post_and_reads_every_page_after_the_last_key() {
    let pages = [
        percolate_page(&[(ADA, "hot dog", "k1"), ("bob", "Summer", "k2")]),
        percolate_page(&[("bob", "#dogs", "k3"), ("cy", "harbour", "k4")]),
        percolate_page(&[("ada-2", "ünïcödé", "k5")]),
    ];
    let cluster = FakeCluster::start(move |_, n| Reply::value(200, &pages[n.min(2)])).await;
    let matcher = matcher(&cluster).with_page_size(2);
    let found = matcher.matching(&post()).await.unwrap();
    let pairs: Vec<(&str, &str)> = found
        .iter()
        .map(|Subscription { user, term }| (user.as_str(), term.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            (ADA, "hot dog"),
            ("ada-2", "ünïcödé"),
            ("bob", "#dogs"),
            ("bob", "Summer"),
            ("cy", "harbour"),
        ]
    );

    let requests = cluster.seen();
    assert_eq!(requests.len(), 3, "stops at the first short page");
    let after: Vec<Value> = requests
        .iter()
        .map(|r| r.json().get("search_after").cloned().unwrap_or(Value::Null))
        .collect();
    assert_eq!(after, [Value::Null, json!(["k2"]), json!(["k4"])]);
    for request in &requests {
        assert_eq!(
            (request.method.as_str(), request.target.as_str()),
            ("POST", "/subscriptions/_search")
        );
        let mut body = request.json();
        body.as_object_mut().unwrap().remove("search_after");
        assert_eq!(
            body,
            json!({
                "query": {"constant_score": {"filter": {"percolate": {
                    "field": "query",
                    "document": {"Content": "A hot day at the \"harbour\" — ünïcödé",
                                 "Tags": ["#summer", "#Dogs"]},
                }}}},
                "size": 2,
                "sort": [{"key": "asc"}],
                "_source": ["user", "term", "key"],
                "track_total_hits": false,
            })
        );
    }
}

#[tokio::test]
async fn a_last_full_page_is_followed_by_an_empty_one_and_the_default_page_is_large() {
    let cluster = FakeCluster::start(|_, n| match n {
        0 => Reply::value(200, &percolate_page(&[(ADA, "a", "k1"), (ADA, "b", "k2")])),
        _ => Reply::value(200, &percolate_page(&[])),
    })
    .await;
    let found = matcher(&cluster)
        .with_page_size(2)
        .matching(&post())
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(cluster.seen().len(), 2);

    let cluster = FakeCluster::start(|_, _| Reply::value(200, &percolate_page(&[]))).await;
    assert!(
        matcher(&cluster)
            .matching(&post())
            .await
            .unwrap()
            .is_empty()
    );
    let [request] = &cluster.seen()[..] else {
        panic!("one request expected");
    };
    assert_eq!(request.json()["size"], DEFAULT_PAGE_SIZE);
    assert_eq!(DEFAULT_PAGE_SIZE, 1_000, "not the engines' default of 10");
}

#[tokio::test]
async fn partial_answers_and_refusals_are_errors_of_their_kind() {
    let mut timed_out = percolate_page(&[(ADA, "a", "k1")]);
    timed_out["timed_out"] = json!(true);
    let mut shard_failed = percolate_page(&[(ADA, "a", "k1")]);
    shard_failed["_shards"] = json!({"total": 2, "successful": 1, "skipped": 0, "failed": 1,
        "failures": [{"shard": 1, "index": "subscriptions", "node": "n1",
                      "reason": {"type": "node_disconnected_exception", "reason": "[n1] disconnected"}}]});
    let bad_request = json!({"error": {"type": "parsing_exception",
        "reason": "[percolate] query malformed"}, "status": 400});
    let throttled = json!({"error": {"type": "es_rejected_execution_exception",
        "reason": "rejected execution"}, "status": 429});
    let not_a_subscription = json!({"took": 1, "timed_out": false,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"hits": [{"_id": "x", "_source": {"Content": "a post"}}]}});
    for (status, body, kind) in [
        (200, timed_out, SubscriptionsErrorKind::Unavailable),
        (200, shard_failed, SubscriptionsErrorKind::Unavailable),
        (400, bad_request, SubscriptionsErrorKind::Rejected),
        (429, throttled, SubscriptionsErrorKind::Unavailable),
        (200, not_a_subscription, SubscriptionsErrorKind::Rejected),
    ] {
        let answer = body.clone();
        let cluster = FakeCluster::start(move |_, _| Reply::value(status, &answer)).await;
        let error = matcher(&cluster).matching(&post()).await.unwrap_err();
        assert_eq!(error.kind, kind, "{status} {body}");
    }
}

#[test]
fn the_subscriptions_index_name_is_checked() {
    let config = EsConfig::new("http://127.0.0.1:9").unwrap();
    assert!(PercolatorMatcher::new(&config, "Subscriptions").is_err());
    assert!(PercolatorMatcher::new(&config, "subs/x").is_err());
    assert!(PercolatorMatcher::new(&config, "subscriptions-v2").is_ok());
}
