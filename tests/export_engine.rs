//! The export engine over real parts: 100,000 generated posts in the embedded index, exported
//! through the local object store, checked row by row against a paged search.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::export::run_export;
use sde_core::{Column, ExportOptions, ExportPlan, ObjectKey, PageRequest, PostQuery, SearchIndex};
use sde_dataimport::generate::{GeneratorConfig, PostGenerator, SELECTIVE_TAG, SELECTIVE_WORD};
use sde_localfs::LocalFsStore;
use sde_tantivy::TantivyIndex;
use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::time::Duration;

const POSTS: usize = 100_000;

fn index_of(posts: usize) -> (tempfile::TempDir, TantivyIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = TantivyIndex::open_or_create(&dir.path().join("index")).unwrap();
    let mut writer = index.writer().unwrap();
    for post in PostGenerator::new(GeneratorConfig::default()).take(posts) {
        writer.add(&post).unwrap();
    }
    assert_eq!(writer.commit().unwrap(), posts as u64);
    (dir, index)
}

/// Every id a paged search returns, with the total it reports.
async fn paged_ids(index: &TantivyIndex, query: &PostQuery) -> (u64, HashSet<String>) {
    let mut ids = HashSet::new();
    let mut total = 0;
    for number in 0.. {
        let page = index
            .search(
                query,
                PageRequest {
                    number,
                    size: 1_000,
                },
            )
            .await
            .unwrap();
        total = page.total;
        if page.posts.is_empty() {
            break;
        }
        for post in page.posts {
            assert!(ids.insert(post.id), "a paged search repeated a post");
        }
    }
    (total, ids)
}

async fn export_ids(
    index: &TantivyIndex,
    store: &LocalFsStore,
    query: &PostQuery,
    name: &str,
) -> (u64, Vec<String>) {
    let plan = ExportPlan {
        query: query.clone(),
        options: ExportOptions {
            columns: vec![
                Column::Uuid,
                Column::UserID,
                Column::DateCreated,
                Column::Content,
                Column::Tags,
            ],
            ..ExportOptions::default()
        },
        key: ObjectKey::new(format!("exports/test/{name}.csv")).unwrap(),
        download_name: format!("{name}.csv"),
        url_ttl: Duration::from_secs(60),
        batch_size: NonZeroUsize::new(2_000).unwrap(),
    };
    let links = sde_core::DownloadLinks::new(sde_core::SigningKey::generate(), "http://127.0.0.1");
    let report = run_export(index, store, &links, &plan, &|_| {})
        .await
        .unwrap();
    let file = std::fs::read(store.object_path(&plan.key)).unwrap();
    assert_eq!(report.bytes, file.len() as u64);
    let mut reader = csv::Reader::from_reader(file.as_slice());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["uuid", "UserID", "DateCreated", "Content", "Tags"]
    );
    let ids = reader
        .records()
        .map(|row| row.unwrap()[0].to_owned())
        .collect();
    (report.rows, ids)
}

#[tokio::test]
async fn exporting_100k_posts_writes_every_match_exactly_once() {
    let (dir, index) = tokio::task::spawn_blocking(|| index_of(POSTS))
        .await
        .unwrap();
    let store = LocalFsStore::open(dir.path(), "http://sde.test").unwrap();
    let queries = [
        ("match-all", PostQuery::default()),
        (
            "selective-tag",
            PostQuery {
                terms: vec![SELECTIVE_TAG.into()],
                ..PostQuery::default()
            },
        ),
        (
            "selective-word",
            PostQuery {
                terms: vec![SELECTIVE_WORD.into()],
                ..PostQuery::default()
            },
        ),
    ];
    for (name, query) in queries {
        let (total, searched) = paged_ids(&index, &query).await;
        let (rows, exported) = export_ids(&index, &store, &query, name).await;
        assert_eq!(rows, total, "{name}: the report counts the search total");
        assert_eq!(
            exported.len() as u64,
            total,
            "{name}: parsed rows equal the search total"
        );
        let exported_set: HashSet<String> = exported.into_iter().collect();
        assert_eq!(
            exported_set.len() as u64,
            total,
            "{name}: no post is exported twice"
        );
        assert_eq!(
            exported_set, searched,
            "{name}: the export holds exactly the searched posts"
        );
        if name == "match-all" {
            assert_eq!(total, POSTS as u64);
        } else {
            assert!(
                total > 500 && total < 10_000,
                "{name} is selective: {total}"
            );
        }
    }
}

#[tokio::test]
async fn hostile_content_reaches_the_file_intact_and_formula_safe() {
    const POSTS: usize = 20_000;
    let (dir, index) = tokio::task::spawn_blocking(|| index_of(POSTS))
        .await
        .unwrap();
    let store = LocalFsStore::open(dir.path(), "http://sde.test").unwrap();
    let originals: std::collections::HashMap<String, sde_core::Post> =
        PostGenerator::new(GeneratorConfig::default())
            .take(POSTS)
            .map(|p| (p.id.clone(), p))
            .collect();
    let (rows, _) = export_ids(&index, &store, &PostQuery::default(), "hostile").await;
    assert_eq!(rows, POSTS as u64);
    let file =
        std::fs::read(store.object_path(&ObjectKey::new("exports/test/hostile.csv").unwrap()))
            .unwrap();
    let guarded = |cell: &str| {
        let mut guarded = String::new();
        sde_core::encode::write_formula_guarded(cell, &mut guarded);
        guarded
    };
    let mut formula_cells = 0;
    for row in csv::Reader::from_reader(file.as_slice()).records() {
        let row = row.unwrap();
        let original = &originals[&row[0]];
        let tags = original.tags.join(" ");
        for (cell, value) in [
            (&row[1], original.user_id.to_string()),
            (&row[3], original.content.clone()),
            (&row[4], tags),
        ] {
            assert_eq!(
                cell,
                guarded(&value),
                "post {} round-trips apart from the guards",
                original.id
            );
            assert!(
                !sde_core::encode::needs_formula_guard(cell),
                "a cell a spreadsheet would run: {cell:?}"
            );
            formula_cells += usize::from(cell != value);
        }
    }
    assert!(
        formula_cells > 50,
        "the sample holds formula-like cells to neutralise: {formula_cells}"
    );
}
