//! [`PostStore`] on Elasticsearch or OpenSearch: one index request per post,
//! `PUT /<index>/_doc/<id>?refresh=wait_for`, with the post's `_source` as body.
//!
//! `refresh=wait_for` makes the cluster answer only once a refresh has made the post visible to
//! search, so the post is in the next `/search`, scroll and aggregation the moment `put` returns.
//! It forces no refresh of its own: it waits for the next periodic one (`index.refresh_interval`,
//! 1 s by default, and a shard with a waiting write is refreshed even while search-idle), so a
//! write takes at most about a second longer, and a burst of writes shares one refresh instead of
//! paying one each (`refresh=true` would). An index with `refresh_interval: -1` would make these
//! writes wait until the cluster's listener limit forces a refresh: leave it at its default.
//!
//! `PUT` with the id, not `POST /_doc`: a retried request stores the same document again instead
//! of a second copy. The user needs only the index permissions `indices:data/write/index` (and
//! `indices:data/write/bulk*`, which the engines check for single writes too) on the posts index.

use crate::error::EsError;
use crate::index::EsIndex;
use crate::response::{Shards, quote, status_error};
use crate::transport::{EsMethod, EsRequest};
use async_trait::async_trait;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sde_core::{IndexError, IndexErrorKind, Post, PostStore, describe_chain};
use serde::Deserialize;
use tracing::{debug, warn};

/// Characters kept as they are in a document id within the path (RFC 3986 unreserved).
const ID_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The parts of an index (write) response this crate reads.
#[derive(Debug, Deserialize)]
struct WriteResponse {
    #[serde(rename = "_id")]
    id: String,
    /// `created` or `updated`.
    result: String,
    #[serde(rename = "_shards", default)]
    shards: Shards,
}

/// The path of the index request for document `id` of `index`.
fn index_path(index: &str, id: &str) -> String {
    let id = utf8_percent_encode(id, ID_SEGMENT);
    format!("{index}/_doc/{id}?refresh=wait_for")
}

#[async_trait]
impl PostStore for EsIndex {
    async fn put(&self, post: &Post) -> Result<(), IndexError> {
        let context = "storing a post";
        let (id, source) = post.clone().into_source();
        let body = serde_json::to_value(&source).map_err(|error| {
            IndexError::new(IndexErrorKind::Rejected, context).with_source(EsError::Encode(error))
        })?;
        let response = self
            .transport()
            .send(EsRequest {
                method: EsMethod::Put,
                path: index_path(self.index_name(), &id),
                body,
            })
            .await?;
        if !(200..300).contains(&response.status) {
            let error = status_error(response.status, &response.body, context);
            warn!(index = %self.index_name(), post = %id, status = response.status,
                  error = %describe_chain(&error), "storing a post failed");
            return Err(error);
        }
        let answer: WriteResponse = serde_json::from_slice(&response.body).map_err(|source| {
            IndexError::new(IndexErrorKind::Corrupt, context).with_source(EsError::Body {
                source,
                start: quote(&response.body),
            })
        })?;
        if answer.id != id || !matches!(answer.result.as_str(), "created" | "updated") {
            return Err(
                IndexError::new(IndexErrorKind::Corrupt, context).with_source(
                    EsError::UnexpectedWrite {
                        id: answer.id,
                        result: answer.result,
                    },
                ),
            );
        }
        if answer.shards.failed > 0 {
            // The primary holds the post (the status says so) and searches see it; a replica
            // that failed is the cluster's to recover.
            warn!(index = %self.index_name(), post = %id, failed = answer.shards.failed,
                  total = answer.shards.total, "a replica did not take the post");
        }
        debug!(index = %self.index_name(), post = %id, result = %answer.result, "post stored");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_one_path_segment() {
        assert_eq!(
            index_path("posts", "c0ffee00-0005"),
            "posts/_doc/c0ffee00-0005?refresh=wait_for"
        );
        assert_eq!(
            index_path("posts-v2", "a/b c?d#é"),
            "posts-v2/_doc/a%2Fb%20c%3Fd%23%C3%A9?refresh=wait_for"
        );
    }
}
