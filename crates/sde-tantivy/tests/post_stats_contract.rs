//! The `PostStats` contract (`sde_core::testing::post_stats`) run against the tantivy index: its
//! counts compared with its own `/search` totals, and the served part over the four posts the
//! Elasticsearch fixtures hold. The faults part needs a remote backend to fail on demand, which
//! the embedded index does not have.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::testing::post_stats::StatsUnderTest;
use sde_core::testing::search_index::served_posts;
use sde_core::{Post, PostStats};
use sde_tantivy::TantivyIndex;
use std::sync::Arc;

/// Loads the posts in three commits, so the aggregations also add up over several segments.
async fn load(posts: Vec<Post>) -> StatsUnderTest {
    let index = TantivyIndex::in_memory().unwrap();
    let chunk = posts.len().div_ceil(3).max(1);
    for part in posts.chunks(chunk) {
        let mut writer = index.writer().unwrap();
        for post in part {
            writer.add(post).unwrap();
        }
        writer.commit().unwrap();
    }
    StatsUnderTest {
        search: Arc::new(index.clone()),
        stats: Arc::new(index),
    }
}

/// An index holding exactly the served posts.
async fn served() -> Arc<dyn PostStats> {
    load(served_posts()).await.stats
}

mod semantics {
    use super::load;

    sde_core::post_stats_tests!(semantics, load;
        the_histogram_adds_up_to_the_search_total,
        each_bucket_holds_what_a_search_of_its_span_finds,
        weeks_start_on_monday_and_months_on_the_first,
        each_top_tag_counts_the_posts_a_search_for_it_finds,
        a_tag_counts_once_per_post_exactly_as_written,
        the_summary_counts_matches_and_names_the_oldest_and_newest,
        nothing_matching_is_no_bars_no_tags_and_no_dates,
    );
}

mod served {
    use super::served;

    sde_core::post_stats_tests!(served, served;
        the_served_summary,
        the_served_posts_per_day,
        the_served_posts_per_hour,
        the_served_tags,
    );
}
