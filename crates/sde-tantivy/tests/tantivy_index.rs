//! What the tantivy index promises beyond the `SearchIndex` contract: persistence, commit-based
//! visibility, one writer at a time, and scans that keep their snapshot and stop when closed; new
//! posts stored on disk at once, and refused while an import holds the writer.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use sde_core::{IndexErrorKind, PageRequest, Post, PostQuery, PostStore, SearchIndex, UserId};
use sde_tantivy::TantivyIndex;
use std::collections::HashSet;
use std::num::NonZeroUsize;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn post(i: usize, content: &str) -> Post {
    Post {
        id: format!("p{i}"),
        user_id: UserId::Int(i as i64),
        date_created: at("2020-01-01T00:00:00Z") + Duration::seconds(i as i64),
        content: content.to_owned(),
        tags: vec![],
    }
}

fn write(index: &TantivyIndex, posts: impl IntoIterator<Item = Post>) -> u64 {
    let mut writer = index.writer().unwrap();
    for post in posts {
        writer.add(&post).unwrap();
    }
    writer.commit().unwrap()
}

fn batch(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

fn all() -> PostQuery {
    PostQuery::default()
}

fn terms(terms: &[&str]) -> PostQuery {
    PostQuery {
        terms: terms.iter().map(|&term| term.to_owned()).collect(),
        ..PostQuery::default()
    }
}

#[test]
fn posts_become_visible_only_when_committed() {
    let index = TantivyIndex::in_memory().unwrap();
    let mut writer = index.writer().unwrap();
    writer.add(&post(1, "cats")).unwrap();
    assert_eq!(index.num_posts(), 0);
    assert_eq!(writer.commit().unwrap(), 1);
    assert_eq!(index.num_posts(), 1);
}

#[test]
fn a_writer_dropped_without_commit_adds_nothing() {
    let index = TantivyIndex::in_memory().unwrap();
    let mut writer = index.writer().unwrap();
    writer.add(&post(1, "cats")).unwrap();
    drop(writer);
    assert_eq!(write(&index, [post(2, "dogs")]), 1);
}

#[test]
fn only_one_writer_at_a_time_and_the_second_is_told_why() {
    let index = TantivyIndex::in_memory().unwrap();
    let first = index.writer().unwrap();
    let error = index.writer().unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Unavailable);
    assert!(error.to_string().contains("only one writer"), "{error}");
    first.commit().unwrap();
    assert!(index.writer().is_ok(), "committing releases the lock");
}

#[test]
fn a_date_tantivy_cannot_hold_is_rejected() {
    let index = TantivyIndex::in_memory().unwrap();
    let mut writer = index.writer().unwrap();
    let far = Post {
        date_created: at("2300-01-01T00:00:00Z"),
        ..post(1, "cats")
    };
    assert_eq!(writer.add(&far).unwrap_err().kind, IndexErrorKind::Rejected);
}

#[test]
fn an_index_of_another_schema_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut schema = tantivy::schema::Schema::builder();
    schema.add_text_field("Content", tantivy::schema::STORED);
    tantivy::Index::create_in_dir(dir.path(), schema.build()).unwrap();
    let error = TantivyIndex::open_or_create(dir.path()).unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Rejected);
    assert!(
        error
            .to_string()
            .contains("delete the folder and import again"),
        "{error}"
    );
}

#[tokio::test]
async fn the_index_persists_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("posts");
    let original = Post {
        user_id: UserId::Text("9f1c-42".into()),
        date_created: at("2019-07-21T10:11:12.123456789Z"),
        tags: vec!["#a".into()],
        ..post(1, "cats")
    };
    {
        let index = TantivyIndex::open_or_create(&path).unwrap();
        assert_eq!(write(&index, [original.clone(), post(2, "dogs")]), 2);
    }
    let reopened = TantivyIndex::open_or_create(&path).unwrap();
    assert_eq!(reopened.num_posts(), 2);
    let query = PostQuery {
        terms: vec!["cats".into()],
        ..all()
    };
    let page = reopened
        .search(&query, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        page.posts,
        [original],
        "including nanoseconds and a string UserID"
    );
    assert_eq!(
        write(&reopened, [post(3, "fish")]),
        3,
        "a reopened index takes new posts"
    );
}

#[tokio::test]
async fn replacing_and_re_adding_across_commits_leaves_one_post_per_id() {
    let index = TantivyIndex::in_memory().unwrap();
    write(&index, (0..50).map(|i| post(i, "cats")));
    assert_eq!(write(&index, (0..10).map(|i| post(i, "dogs"))), 50);
    let mut scan = index.scan(&all(), batch(7)).await.unwrap();
    assert_eq!(scan.total(), 50);
    let mut dogs = 0;
    let mut ids = HashSet::new();
    let mut batch = Vec::new();
    while scan.next_batch(&mut batch).await.unwrap() {
        dogs += batch.iter().filter(|post| post.content == "dogs").count();
        ids.extend(batch.drain(..).map(|post| post.id));
    }
    scan.close().await.unwrap();
    assert_eq!((ids.len(), dogs), (50, 10), "deleted versions are skipped");
}

#[tokio::test]
async fn a_scan_keeps_its_snapshot_while_posts_are_committed() {
    let index = TantivyIndex::in_memory().unwrap();
    write(&index, (0..100).map(|i| post(i, "cats")));
    let mut scan = index.scan(&all(), batch(10)).await.unwrap();
    let mut ids: HashSet<String> = HashSet::new();
    let mut batch = Vec::new();
    assert!(scan.next_batch(&mut batch).await.unwrap());
    ids.extend(batch.drain(..).map(|post| post.id));

    // Replace every post, add new ones, and let merges run, all mid-scan.
    write(&index, (0..150).map(|i| post(i, "dogs")));
    assert_eq!(index.num_posts(), 150);

    while scan.next_batch(&mut batch).await.unwrap() {
        assert!(
            batch.iter().all(|post| post.content == "cats"),
            "only the snapshot's posts"
        );
        ids.extend(batch.drain(..).map(|post| post.id));
    }
    assert_eq!((scan.total(), ids.len()), (100, 100));
    scan.close().await.unwrap();
}

/// Posts of every shape, so that each one overwrites a reused post of a different shape: a
/// numeric or a text UserID, no content or a long one, zero to three tags of varying length.
fn varied_post(i: usize) -> Post {
    Post {
        id: format!("varied-{i}"),
        user_id: if i.is_multiple_of(3) {
            UserId::Text(format!("sub-{}", "z".repeat(i % 11)))
        } else {
            UserId::Int(-(i as i64))
        },
        date_created: at("2021-03-04T05:06:07.123456789Z") + Duration::minutes(i as i64),
        content: format!(
            "{} {}",
            if i.is_multiple_of(2) { "even" } else { "odd" },
            "y".repeat(i % 97)
        ),
        tags: (0..i % 4)
            .map(|t| format!("#t{}", "w".repeat((i + t) % 5)))
            .collect(),
    }
}

#[tokio::test]
async fn scans_that_reuse_their_batches_yield_every_post_exactly_as_indexed() {
    let index = TantivyIndex::in_memory().unwrap();
    let original: Vec<Post> = (0..300).map(varied_post).collect();
    write(&index, original.clone());
    for (query, size) in [
        (all(), 1),
        (all(), 7),
        (terms(&["odd"]), 2),
        (terms(&["even"]), 5),
    ] {
        let mut scan = index.scan(&query, batch(size)).await.unwrap();
        let mut scanned = Vec::new();
        let mut batch = Vec::new();
        while scan.next_batch(&mut batch).await.unwrap() {
            // Clones, so the scan gets its posts back to overwrite.
            scanned.extend(batch.iter().cloned());
        }
        scan.close().await.unwrap();
        scanned.sort_by(|a, b| a.id.cmp(&b.id));
        let mut expected: Vec<Post> = original
            .iter()
            .filter(|post| {
                query
                    .terms
                    .iter()
                    .all(|term| post.content.contains(term.as_str()))
            })
            .cloned()
            .collect();
        expected.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(scanned, expected, "{query:?} in batches of {size}");
    }
}

#[tokio::test]
async fn closing_a_scan_midway_stops_its_producer() {
    let index = TantivyIndex::in_memory().unwrap();
    write(&index, (0..2_000).map(|i| post(i, "cats")));
    let mut scan = index.scan(&all(), batch(10)).await.unwrap();
    assert!(scan.next_batch(&mut Vec::new()).await.unwrap());
    // The producer is now blocked on a full channel; closing must wake and end it.
    tokio::time::timeout(std::time::Duration::from_secs(10), scan.close())
        .await
        .expect("close does not hang")
        .unwrap();
}

#[tokio::test]
async fn a_scan_dropped_without_close_does_not_hold_up_the_runtime() {
    let index = TantivyIndex::in_memory().unwrap();
    write(&index, (0..500).map(|i| post(i, "cats")));
    let scan = index.scan(&all(), batch(1)).await.unwrap();
    drop(scan);
    // The runtime shuts down at the end of the test, which waits for blocking tasks.
}

#[tokio::test]
async fn searches_see_a_commit_made_after_the_index_was_opened() {
    let index = TantivyIndex::in_memory().unwrap();
    let query = PostQuery {
        terms: vec!["cats".into()],
        ..all()
    };
    assert_eq!(
        index
            .search(&query, PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
    write(&index, [post(1, "cats")]);
    assert_eq!(
        index
            .search(&query, PageRequest::default())
            .await
            .unwrap()
            .total,
        1
    );
}

#[tokio::test]
async fn a_stored_post_is_on_disk_when_put_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("posts");
    let stored = Post {
        user_id: UserId::Text("9f1c-42".into()),
        ..post(7, "zeppelin")
    };
    {
        let index = TantivyIndex::open_or_create(&path).unwrap();
        write(&index, [post(1, "cats")]);
        index.put(&stored).await.unwrap();
    }
    let reopened = TantivyIndex::open_or_create(&path).unwrap();
    let page = reopened
        .search(&terms(&["zeppelin"]), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.posts, [stored]);
    assert_eq!(reopened.num_posts(), 2);
}

#[tokio::test]
async fn while_an_import_holds_the_writer_a_post_is_unavailable_and_nothing_is_lost() {
    let index = TantivyIndex::in_memory().unwrap();
    let mut import = index.writer().unwrap();
    import.add(&post(1, "cats")).unwrap();
    let error = index.put(&post(2, "zeppelin")).await.unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Unavailable, "{error}");
    assert!(error.kind.is_transient());
    assert_eq!(import.commit().unwrap(), 1, "the import is unharmed");
    index.put(&post(2, "zeppelin")).await.unwrap();
    assert_eq!(
        index.num_posts(),
        2,
        "and a post can be stored once it is done"
    );
}

#[tokio::test]
async fn a_scan_started_before_a_post_is_stored_keeps_its_snapshot() {
    let index = TantivyIndex::in_memory().unwrap();
    write(&index, (0..5).map(|i| post(i, "cats")));
    let mut scan = index.scan(&all(), batch(2)).await.unwrap();
    index.put(&post(9, "cats")).await.unwrap();
    let mut seen = 0;
    let mut posts = Vec::new();
    while scan.next_batch(&mut posts).await.unwrap() {
        seen += posts.len();
    }
    scan.close().await.unwrap();
    assert_eq!((scan_total_of(&index).await, seen), (6, 5));
}

async fn scan_total_of(index: &TantivyIndex) -> u64 {
    let scan = index.scan(&all(), batch(2)).await.unwrap();
    let total = scan.total();
    scan.close().await.unwrap();
    total
}
