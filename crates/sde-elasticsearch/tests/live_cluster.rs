//! `EsIndex` against a real Elasticsearch or OpenSearch cluster, when `SDE_TEST_ES_URL` names
//! one (e.g. `http://localhost:9200` or `https://user:password@host:9200`; the cluster's
//! certificate must be trusted). The tests create temporary indices with the posts index's
//! explicit mapping and two shards, bulk-index posts, and delete them even when a check fails:
//! one runs searches and a full scan over posts built here, the other runs the `SearchIndex`
//! contract's semantics and served parts (`sde_core::testing::search_index`), the parts a fake
//! cluster cannot check, the same two parts of the `PostStats` contract and the semantics of the
//! `PostStore` contract (a post stored with `refresh=wait_for` is searchable the moment the
//! cluster answers). A third creates a subscriptions index with the percolator mapping and runs
//! the `SubscriptionMatcher` contract (`sde_core::testing::subscription_matcher`) on
//! `PercolatorMatcher`, reading matches in pages of three so paging is exercised, then checks
//! that each post built here matches exactly the subscriptions whose term a search finds it for.
//! The first also reads the posts in slices of one point in time (after storing one more post,
//! which the slices must not see), with the API `SDE_TEST_ES_ENGINE` names (`opensearch`, the
//! default, or `elasticsearch`). Without the variable they print that they were skipped and pass.
//!
//! No cluster was reachable where these tests were written, so they have not been run yet; the
//! rest of this crate's tests use hand-written responses.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use elasticsearch::indices::{IndicesCreateParts, IndicesDeleteParts};
use elasticsearch::params::Refresh;
use elasticsearch::{BulkOperation, BulkOperations, BulkParts};
use sde_core::testing::post_stats::{self, StatsUnderTest};
use sde_core::testing::post_store::{self, StoreUnderTest};
use sde_core::testing::search_index::{semantics, served, served_posts};
use sde_core::testing::subscription_matcher_contract;
use sde_core::{DateRange, PageRequest, Post, PostQuery, SearchIndex, UserId};
use sde_core::{SubscriptionMatcher, SubscriptionTerm};
use sde_elasticsearch::{
    ClientTransport, EsConfig, EsIndex, PercolatorMatcher, subscriptions_index_body,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

const POSTS: usize = 45;

fn config_from(url: &str, index: String) -> EsConfig {
    let mut config = EsConfig::from_url_with_credentials(url).expect("SDE_TEST_ES_URL is usable");
    config.index = index;
    // Which point-in-time API the cluster speaks (sliced exports); OpenSearch unless set.
    if let Ok(engine) = std::env::var("SDE_TEST_ES_ENGINE") {
        config.engine = sde_elasticsearch::Engine::from_name(&engine)
            .expect("SDE_TEST_ES_ENGINE is opensearch or elasticsearch");
    }
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

async fn create_and_fill(transport: &ClientTransport, index: &str, posts: Vec<Post>) {
    let mut body = sde_elasticsearch::index_mapping();
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
    for post in posts {
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

async fn checks(es: EsIndex) {
    let index: &dyn SearchIndex = &es;
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

    slice_checks(&es, &all).await;
}

/// A point in time cut into slices yields every post once, each slice its own total, even with
/// a post stored after the snapshot was taken; closing it twice succeeds. Pages of 4 are smaller
/// than a slice, so `search_after` (and, on OpenSearch, the overlap at a document number shared
/// by both shards) is exercised.
async fn slice_checks(es: &EsIndex, all: &[Post]) {
    let index: &dyn SearchIndex = es;
    let everything = PostQuery::default();
    let snapshot = index
        .open_snapshot(&everything, std::time::Duration::from_secs(120))
        .await
        .unwrap();
    let Some(snapshot) = snapshot else {
        eprintln!(
            "note: the cluster opened no point in time (OpenSearch before 2.4, Elasticsearch \
             before 7.12, or SDE_TEST_ES_ENGINE names the other engine): slices not checked"
        );
        return;
    };
    assert_eq!(snapshot.total, POSTS as u64);
    let late = Post {
        id: "live-late".into(),
        ..all[0].clone()
    };
    sde_core::PostStore::put(es, &late).await.unwrap();
    for count in [2u32, 3, 5] {
        let mut sliced = Vec::new();
        for slice in 0..count {
            let mut scan = index
                .scan_slice(
                    &snapshot.id,
                    &everything,
                    sde_core::Slice {
                        index: slice,
                        count,
                    },
                    NonZeroUsize::new(4).unwrap(),
                )
                .await
                .unwrap();
            let total = scan.total();
            let mut posts = Vec::new();
            let mut batch = Vec::new();
            while scan.next_batch(&mut batch).await.unwrap() {
                assert!(batch.len() <= 4);
                posts.append(&mut batch);
            }
            scan.close().await.unwrap();
            assert_eq!(posts.len() as u64, total, "slice {slice} of {count}");
            sliced.append(&mut posts);
        }
        sliced.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(sliced, all, "{count} slices");
    }
    index.close_snapshot(&snapshot.id).await.unwrap();
    index.close_snapshot(&snapshot.id).await.unwrap();
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
    create_and_fill(&transport, &index_name, posts()).await;

    // Checks run in their own task so a failing assertion still lets the index be deleted.
    let outcome = tokio::spawn(checks(EsIndex::new(&config).unwrap())).await;
    delete(&transport, &index_name).await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// Builds a fresh index per call of the contract's loaders, remembering each to delete it.
struct Live {
    url: String,
    prefix: String,
    transport: ClientTransport,
    created: Mutex<Vec<String>>,
    next: AtomicUsize,
}

impl Live {
    async fn load(&self, posts: Vec<Post>) -> Arc<dyn SearchIndex> {
        self.load_index(posts).await
    }

    async fn load_index(&self, posts: Vec<Post>) -> Arc<EsIndex> {
        let name = format!(
            "{}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        self.created.lock().unwrap().push(name.clone());
        create_and_fill(&self.transport, &name, posts).await;
        Arc::new(EsIndex::new(&config_from(&self.url, name)).unwrap())
    }
}

async fn contract(live: Arc<Live>) {
    let load = |posts: Vec<Post>| {
        let live = Arc::clone(&live);
        async move { live.load(posts).await }
    };
    semantics::every_term_must_match(&load).await;
    semantics::a_term_matches_through_content_or_tags(&load).await;
    semantics::a_multi_word_term_matches_any_of_its_words(&load).await;
    semantics::hash_tag_and_bare_word_both_match_a_tag(&load).await;
    semantics::matching_ignores_case(&load).await;
    semantics::unicode_text_matches(&load).await;
    semantics::a_punctuation_only_term_matches_nothing(&load).await;
    semantics::query_syntax_in_user_text_is_plain_words(&load).await;
    semantics::a_word_in_tags_outranks_the_same_word_in_content(&load).await;
    semantics::results_are_ranked_by_relevance(&load).await;
    semantics::no_terms_and_no_range_match_every_post(&load).await;
    semantics::the_date_range_is_half_open_and_either_end_may_be_open(&load).await;
    semantics::the_date_range_combines_with_terms(&load).await;
    semantics::the_date_range_does_not_change_the_ranking(&load).await;
    semantics::pages_concatenate_to_the_full_ranking_with_exact_totals(&load).await;
    semantics::a_scan_yields_every_match_exactly_once(&load).await;
    semantics::a_scan_of_nothing_has_total_zero_and_no_batches(&load).await;
    semantics::a_later_post_with_the_same_id_replaces_the_earlier(&load).await;
    semantics::posts_round_trip_unchanged(&load).await;

    let open = || load(served_posts());
    served::a_page_holds_at_most_its_size_with_the_exact_total(&open).await;
    served::pages_hold_every_match_once_and_past_the_end_is_empty(&open).await;
    served::a_scan_yields_every_match_once_in_bounded_batches(&open).await;
    served::posts_come_back_exactly_as_stored(&open).await;

    let load_stats = |posts: Vec<Post>| {
        let live = Arc::clone(&live);
        async move {
            let index = live.load_index(posts).await;
            StatsUnderTest {
                search: index.clone(),
                stats: index,
            }
        }
    };
    post_stats::semantics::the_histogram_adds_up_to_the_search_total(&load_stats).await;
    post_stats::semantics::each_bucket_holds_what_a_search_of_its_span_finds(&load_stats).await;
    post_stats::semantics::weeks_start_on_monday_and_months_on_the_first(&load_stats).await;
    post_stats::semantics::each_top_tag_counts_the_posts_a_search_for_it_finds(&load_stats).await;
    post_stats::semantics::a_tag_counts_once_per_post_exactly_as_written(&load_stats).await;
    post_stats::semantics::the_summary_counts_matches_and_names_the_oldest_and_newest(&load_stats)
        .await;
    post_stats::semantics::nothing_matching_is_no_bars_no_tags_and_no_dates(&load_stats).await;
    let open_stats = || async { load_stats(served_posts()).await.stats };
    post_stats::served::the_served_summary(&open_stats).await;
    post_stats::served::the_served_posts_per_day(&open_stats).await;
    post_stats::served::the_served_posts_per_hour(&open_stats).await;
    post_stats::served::the_served_tags(&open_stats).await;

    let load_store = |posts: Vec<Post>| {
        let live = Arc::clone(&live);
        async move {
            let index = live.load_index(posts).await;
            StoreUnderTest {
                store: index.clone(),
                search: index.clone(),
                stats: index,
            }
        }
    };
    post_store::semantics::a_stored_post_is_found_at_once_by_search_scan_and_counts(&load_store)
        .await;
    post_store::semantics::storing_the_same_id_again_replaces_the_post(&load_store).await;
    post_store::semantics::posts_stored_at_the_same_time_are_all_stored(&load_store).await;
}

#[tokio::test]
async fn the_search_index_contract_holds_on_a_live_cluster_when_sde_test_es_url_is_set() {
    let Ok(url) = std::env::var("SDE_TEST_ES_URL") else {
        eprintln!("skipped: set SDE_TEST_ES_URL to run the SearchIndex contract on a live cluster");
        return;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("sde-contract-{nanos}");
    let transport = ClientTransport::new(&config_from(&url, prefix.clone())).unwrap();
    let live = Arc::new(Live {
        url,
        prefix,
        transport: transport.clone(),
        created: Mutex::default(),
        next: AtomicUsize::new(0),
    });

    // The contract runs in its own task so a failing check still lets every index be deleted.
    let outcome = tokio::spawn(contract(Arc::clone(&live))).await;
    let created = std::mem::take(&mut *live.created.lock().unwrap());
    for name in created {
        delete(&transport, &name).await;
    }
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// The percolator matcher against `posts` (already in `index`): the contract, then for each term
/// the posts a search finds are exactly those the matcher says match a subscription to it.
async fn percolator_checks(index: EsIndex, matcher: PercolatorMatcher) {
    subscription_matcher_contract(&matcher).await;

    let terms = [
        "cats",
        "dogs mat",
        "#cats",
        "ünïcödé",
        "\"mat\"",
        "!!!",
        "again ok",
        "zebra",
    ];
    for (n, text) in terms.iter().enumerate() {
        let user = format!("live-percolator-{n}");
        matcher
            .subscribed(&user, &SubscriptionTerm::parse(text).unwrap())
            .await
            .unwrap();
    }
    let mut matched: Vec<BTreeSet<String>> = vec![BTreeSet::new(); terms.len()];
    for post in posts() {
        for subscription in matcher.matching(&post).await.unwrap() {
            if let Some(n) = subscription.user.strip_prefix("live-percolator-") {
                matched[n.parse::<usize>().unwrap()].insert(post.id.clone());
            }
        }
    }
    for (text, matched) in terms.iter().zip(&matched) {
        let query = PostQuery {
            terms: vec![(*text).to_owned()],
            ..PostQuery::default()
        };
        let page = index
            .search(
                &query,
                PageRequest {
                    number: 0,
                    size: 100,
                },
            )
            .await
            .unwrap();
        let found: BTreeSet<String> = page.posts.into_iter().map(|post| post.id).collect();
        assert_eq!(
            &found, matched,
            "term {text:?}: search (left) and percolator (right)"
        );
    }
}

#[tokio::test]
async fn the_percolator_matcher_keeps_the_contract_on_a_live_cluster_when_sde_test_es_url_is_set() {
    let Ok(url) = std::env::var("SDE_TEST_ES_URL") else {
        eprintln!("skipped: set SDE_TEST_ES_URL to run the percolator matcher on a live cluster");
        return;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let config = config_from(&url, format!("sde-percolate-posts-{nanos}"));
    let transport = ClientTransport::new(&config).unwrap();
    let posts_index = config.index.clone();
    create_and_fill(&transport, &posts_index, posts()).await;
    let subscriptions_index = format!("sde-subscriptions-{nanos}");
    let mut body = subscriptions_index_body();
    body["settings"] = json!({"number_of_shards": 2, "number_of_replicas": 0});
    let created = transport
        .client()
        .indices()
        .create(IndicesCreateParts::Index(&subscriptions_index))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = created.status_code();
    assert!(
        status.is_success(),
        "create the subscriptions index: {}",
        created.text().await.unwrap()
    );

    let matcher = PercolatorMatcher::new(&config, &subscriptions_index)
        .unwrap()
        .with_page_size(3);
    let outcome = tokio::spawn(percolator_checks(EsIndex::new(&config).unwrap(), matcher)).await;
    delete(&transport, &posts_index).await;
    delete(&transport, &subscriptions_index).await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}
