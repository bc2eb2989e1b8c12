//! `search`: one page of ranked posts, in the response shape the existing frontend reads.

use crate::api_error::ApiError;
use sde_core::{IndexErrorKind, Post, SearchCriteria, SearchIndex, SearchRequest, UserId};
use serde::Serialize;

/// The `/search` response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchResponse {
    /// `ok`, `warn` (partial results) or `error` (the index timed out).
    pub status: &'static str,
    pub error_message: String,
    pub total_results: u64,
    pub results_count: usize,
    pub results: Vec<SearchHit>,
}

/// One result row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub uuid: String,
    #[serde(rename = "Type")]
    pub doc_type: &'static str,
    #[serde(rename = "UserID")]
    pub user_id: UserId,
    #[serde(rename = "DateCreated")]
    pub date_created: String,
    #[serde(rename = "Content")]
    pub content: String,
    #[serde(rename = "Tags")]
    pub tags: Vec<String>,
}

impl From<Post> for SearchHit {
    fn from(post: Post) -> Self {
        SearchHit {
            uuid: post.id,
            doc_type: "posts",
            user_id: post.user_id,
            date_created: post
                .date_created
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            content: post.content,
            tags: post.tags,
        }
    }
}

/// Runs one `/search` request.
pub async fn search(
    index: &dyn SearchIndex,
    request: &SearchRequest,
) -> Result<SearchResponse, ApiError> {
    let criteria = SearchCriteria::try_from(request)?;
    match index.search(&criteria.query, criteria.page).await {
        Ok(page) => Ok(SearchResponse {
            status: if page.warning.is_some() { "warn" } else { "ok" },
            error_message: page.warning.unwrap_or_default(),
            total_results: page.total,
            results_count: page.posts.len(),
            results: page.posts.into_iter().map(SearchHit::from).collect(),
        }),
        Err(error) if error.kind == IndexErrorKind::Timeout => {
            tracing::warn!(error = %error, "search timed out");
            Ok(SearchResponse {
                status: "error",
                error_message: "the search took too long; narrow it and try again".into(),
                total_results: 0,
                results_count: 0,
                results: Vec::new(),
            })
        }
        Err(error) => Err(error.into()),
    }
}
