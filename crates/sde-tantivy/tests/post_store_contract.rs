//! The `PostStore` contract (`sde_core::testing::post_store`) run against the tantivy index: a
//! stored post seen at once by the index's own searches, scans and counts, and the served part.
//! The faults part needs a remote backend to fail on demand, which the embedded index does not
//! have.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::testing::StoreUnderTest;
use sde_core::{Post, PostStore};
use sde_tantivy::TantivyIndex;
use std::sync::Arc;

/// An index holding `posts`, committed through an import's writer (which is released).
async fn load(posts: Vec<Post>) -> StoreUnderTest {
    let index = TantivyIndex::in_memory().unwrap();
    let mut writer = index.writer().unwrap();
    for post in &posts {
        writer.add(post).unwrap();
    }
    writer.commit().unwrap();
    StoreUnderTest {
        store: Arc::new(index.clone()),
        search: Arc::new(index.clone()),
        stats: Arc::new(index),
    }
}

/// An empty index.
async fn empty() -> Arc<dyn PostStore> {
    Arc::new(TantivyIndex::in_memory().unwrap())
}

mod semantics {
    use super::load;

    sde_core::post_store_tests!(semantics, load;
        a_stored_post_is_found_at_once_by_search_scan_and_counts,
        storing_the_same_id_again_replaces_the_post,
        posts_stored_at_the_same_time_are_all_stored,
    );
}

mod served {
    use super::empty;

    sde_core::post_store_tests!(served, empty;
        a_new_post_is_stored,
        storing_the_same_post_again_succeeds,
    );
}
