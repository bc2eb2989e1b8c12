//! The `SearchIndex` contract (`sde_core::testing::search_index`) run against the tantivy index:
//! the search semantics, and the served part over the four posts the Elasticsearch fixtures
//! hold. The faults part needs a remote backend to fail on demand, which the embedded index does
//! not have.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::testing::search_index::served_posts;
use sde_core::{Post, SearchIndex};
use sde_tantivy::TantivyIndex;
use std::sync::Arc;

/// Loads the posts in three commits, so checks also cover several segments and replacement
/// across segments.
async fn load(posts: Vec<Post>) -> Arc<dyn SearchIndex> {
    let index = TantivyIndex::in_memory().unwrap();
    let chunk = posts.len().div_ceil(3).max(1);
    for part in posts.chunks(chunk) {
        let mut writer = index.writer().unwrap();
        for post in part {
            writer.add(post).unwrap();
        }
        writer.commit().unwrap();
    }
    Arc::new(index)
}

/// An index holding exactly the served posts.
async fn served() -> Arc<dyn SearchIndex> {
    load(served_posts()).await
}

mod semantics {
    use super::load;

    sde_core::search_index_tests!(semantics, load;
        every_term_must_match,
        a_term_matches_through_content_or_tags,
        a_multi_word_term_matches_any_of_its_words,
        hash_tag_and_bare_word_both_match_a_tag,
        matching_ignores_case,
        unicode_text_matches,
        a_punctuation_only_term_matches_nothing,
        query_syntax_in_user_text_is_plain_words,
        a_word_in_tags_outranks_the_same_word_in_content,
        results_are_ranked_by_relevance,
        no_terms_and_no_range_match_every_post,
        the_date_range_is_half_open_and_either_end_may_be_open,
        the_date_range_combines_with_terms,
        the_date_range_does_not_change_the_ranking,
        pages_concatenate_to_the_full_ranking_with_exact_totals,
        a_scan_yields_every_match_exactly_once,
        a_scan_of_nothing_has_total_zero_and_no_batches,
        a_later_post_with_the_same_id_replaces_the_earlier,
        posts_round_trip_unchanged,
    );
}

mod served {
    use super::served;

    sde_core::search_index_tests!(served, served;
        a_page_holds_at_most_its_size_with_the_exact_total,
        pages_hold_every_match_once_and_past_the_end_is_empty,
        a_scan_yields_every_match_once_in_bounded_batches,
        posts_come_back_exactly_as_stored,
        the_slices_of_one_snapshot_yield_every_match_once,
        unknown_snapshots_and_slices_are_rejected,
    );
}
