//! [`PercolatorMatcher`]: the AWS [`SubscriptionMatcher`], an OpenSearch (or Elasticsearch)
//! index of real-time subscriptions whose documents are queries, asked with a `percolate` query
//! which of them a new post matches.
//!
//! # The index
//!
//! [`subscriptions_index_body`] creates it (`PUT /<name>` once, before the first subscription;
//! the README's AWS section shows the request): a `percolator` field `query`, `Content` and
//! `Tags` mapped exactly as in the posts index ([`index_mapping`], so a post is analysed the same
//! way when percolated as when indexed), the subscriber `user` and a `key` to page by (keywords),
//! the `term` as given (kept, not indexed). The mapping is `strict`: a document with another
//! field is refused, never mapped on the fly.
//!
//! # Kept in step with the store
//!
//! One document per subscription, under an id made of the user and the normalised term
//! ([`document_id`]: the SHA-256 of both, in hex, since a term of 512 characters can be longer
//! than the 512 bytes an id may have). [`SubscriptionMatcher::subscribed`] creates it
//! (`PUT /<name>/_create/<id>`: a held term answers 409 and keeps the term as first given) with
//! the very `multi_match` query `/search` runs for the term ([`query::term_clause`]);
//! [`SubscriptionMatcher::unsubscribed`] deletes it (a document already gone answers 404, which
//! is fine). Both wait for a refresh (`refresh=wait_for`), so the next post sees the change.
//!
//! # Matching
//!
//! `POST /<name>/_search` with the post's `Content` and `Tags` as the percolated document, in
//! filter context (no scores are needed), sorted by `key` and read page after page with
//! `search_after` until a page comes back short: every matching subscription, however many, each
//! once. A timed-out search or failed shards are errors, not partial answers: a subscriber missed
//! would never get their email, while a retried job is deduplicated downstream.
//!
//! # Permissions
//!
//! The functions that subscribe and unsubscribe need `indices:data/write/index`,
//! `indices:data/write/delete` (and `indices:data/write/bulk*`) on this index; the matching
//! function needs `read` on it. None needs anything on the posts index for this.

use crate::EsConfig;
use crate::config::ConfigError;
use crate::error::EsError;
use crate::index_name::check_index_name;
use crate::mapping::index_mapping;
use crate::query;
use crate::response::{SearchResponse, quote, status_error};
use crate::transport::{ClientTransport, EsMethod, EsRequest, EsTransport};
use async_trait::async_trait;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use sde_core::settings::SettingsError;
use sde_core::{
    IndexError, IndexErrorKind, Post, Subscription, SubscriptionMatcher, SubscriptionTerm,
    SubscriptionsError, SubscriptionsErrorKind, describe_chain,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;
use tracing::{debug, warn};

/// Name of the subscriptions index unless configured otherwise.
pub const DEFAULT_SUBSCRIPTIONS_INDEX: &str = "subscriptions";
/// The environment variable naming the subscriptions index.
pub const SUBSCRIPTIONS_INDEX_VARIABLE: &str = "SDE_ES_SUBSCRIPTIONS_INDEX";
/// Matching subscriptions read per page.
pub const DEFAULT_PAGE_SIZE: usize = 1_000;

/// The body of `PUT /<subscriptions index>`: its mappings.
pub fn subscriptions_index_body() -> Value {
    let posts = index_mapping();
    let post_fields = &posts["mappings"]["properties"];
    json!({
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "query": {"type": "percolator"},
                "Content": post_fields["Content"].clone(),
                "Tags": post_fields["Tags"].clone(),
                "user": {"type": "keyword"},
                "key": {"type": "keyword"},
                "term": {"type": "keyword", "index": false, "doc_values": false},
            }
        }
    })
}

/// The subscriptions index named by [`SUBSCRIPTIONS_INDEX_VARIABLE`] in `lookup` (the
/// environment, in production), or [`DEFAULT_SUBSCRIPTIONS_INDEX`].
pub fn subscriptions_index_name(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let name =
        lookup(SUBSCRIPTIONS_INDEX_VARIABLE).unwrap_or_else(|| DEFAULT_SUBSCRIPTIONS_INDEX.into());
    check_index_name(&name)
        .map_err(|error| SettingsError::new(SUBSCRIPTIONS_INDEX_VARIABLE, error.to_string()))?;
    Ok(name)
}

/// The document id of `user`'s subscription to `normalised`: the SHA-256, in hex, of the user's
/// length, the user and the normalised term, so no two (user, term) pairs share an id, whatever
/// characters they hold, and any term fits the 512 bytes an id may have.
pub fn document_id(user: &str, normalised: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(user.len().to_string().as_bytes());
    hash.update(b":");
    hash.update(user.as_bytes());
    hash.update(normalised.as_bytes());
    hex::encode(hash.finalize())
}

/// The document of `user`'s subscription to `term`.
pub fn subscription_document(user: &str, term: &SubscriptionTerm) -> Value {
    json!({
        "query": query::term_clause(term.text()),
        "user": user,
        "term": term.text(),
        "key": document_id(user, term.normalised()),
    })
}

/// The body of one page of matches of `post`: the post's searchable fields percolated in filter
/// context, `size` subscriptions after `after` in `key` order.
pub fn percolate_body(post: &Post, size: usize, after: Option<&str>) -> Value {
    let mut body = json!({
        "query": {"constant_score": {"filter": {"percolate": {
            "field": "query",
            "document": {"Content": post.content, "Tags": post.tags},
        }}}},
        "size": size,
        "sort": [{"key": "asc"}],
        "_source": ["user", "term", "key"],
        "track_total_hits": false,
    });
    if let Some(after) = after {
        body["search_after"] = json!([after]);
    }
    body
}

/// Real-time subscriptions as percolator queries in an OpenSearch or Elasticsearch index.
#[derive(Debug, Clone)]
pub struct PercolatorMatcher {
    transport: Arc<dyn EsTransport>,
    index: String,
    page_size: usize,
}

/// The parts of a hit's `_source` a match is read from.
#[derive(Debug, Deserialize)]
struct Source {
    user: String,
    term: String,
    key: String,
}

/// What a write or delete answers: `created`, `deleted`, `not_found`, ….
#[derive(Debug, Deserialize)]
struct WriteResult {
    #[serde(default)]
    result: String,
}

impl PercolatorMatcher {
    /// A matcher on the subscriptions index `index` of the cluster `config` names (whose own
    /// `index` is the posts index, unused here), with the official client.
    pub fn new(config: &EsConfig, index: &str) -> Result<Self, ConfigError> {
        let transport = ClientTransport::new(config)?;
        Self::with_transport(Arc::new(transport), index)
    }

    /// A matcher sending its requests through `transport` (tests pass scripted answers).
    pub fn with_transport(
        transport: Arc<dyn EsTransport>,
        index: &str,
    ) -> Result<Self, ConfigError> {
        check_index_name(index)
            .map_err(|error| SettingsError::new("subscriptions index", error.to_string()))?;
        Ok(PercolatorMatcher {
            transport,
            index: index.to_owned(),
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// The same matcher reading `page_size` (at least 1) matches per request.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    async fn send(
        &self,
        method: EsMethod,
        path: String,
        body: Value,
        context: &str,
    ) -> Result<crate::EsResponse, SubscriptionsError> {
        self.transport
            .send(EsRequest { method, path, body })
            .await
            .map_err(|error| failed(error, context))
    }

    fn document_path(&self, action: &str, user: &str, term: &SubscriptionTerm) -> String {
        let id = document_id(user, term.normalised());
        // Hex needs no escaping; encoded all the same, should the id ever change shape.
        let id = utf8_percent_encode(&id, NON_ALPHANUMERIC);
        format!("{}/{action}/{id}?refresh=wait_for", self.index)
    }
}

/// A subscriptions error of the kind `error` calls for, keeping it as the cause.
fn failed(error: IndexError, context: &str) -> SubscriptionsError {
    let kind = match error.kind {
        IndexErrorKind::Unavailable | IndexErrorKind::Timeout => {
            SubscriptionsErrorKind::Unavailable
        }
        IndexErrorKind::Rejected | IndexErrorKind::Corrupt => SubscriptionsErrorKind::Rejected,
    };
    SubscriptionsError::new(kind, context.to_owned()).with_source(error)
}

fn refused(status: u16, body: &[u8], context: &str) -> SubscriptionsError {
    let error = status_error(status, body, context);
    warn!(status, error = %describe_chain(&error), "{context} failed");
    failed(error, context)
}

#[async_trait]
impl SubscriptionMatcher for PercolatorMatcher {
    async fn matching(&self, post: &Post) -> Result<Vec<Subscription>, SubscriptionsError> {
        let context = "matching a post against the real-time subscriptions";
        let path = format!("{}/_search", self.index);
        let mut keys = BTreeSet::new();
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let body = percolate_body(post, self.page_size, after.as_deref());
            let response = self
                .send(EsMethod::Post, path.clone(), body, context)
                .await?;
            if !(200..300).contains(&response.status) {
                return Err(refused(response.status, &response.body, context));
            }
            let page =
                SearchResponse::parse(&response.body, context).map_err(|e| failed(e, context))?;
            if page.timed_out {
                return Err(failed(
                    IndexError::new(IndexErrorKind::Timeout, context)
                        .with_source(EsError::TimedOut),
                    context,
                ));
            }
            if let Some(failure) = page.shard_failures() {
                return Err(failed(
                    IndexError::new(IndexErrorKind::Unavailable, context).with_source(failure),
                    context,
                ));
            }
            let hits = page.hits.hits.len();
            for hit in page.hits.hits {
                let source = hit.source.as_ref().map(|raw| raw.get()).unwrap_or("null");
                let source: Source = serde_json::from_str(source).map_err(|error| {
                    failed(
                        IndexError::new(IndexErrorKind::Corrupt, context).with_source(
                            EsError::Document {
                                id: hit.id.clone(),
                                source: error,
                            },
                        ),
                        context,
                    )
                })?;
                after = Some(source.key.clone());
                if keys.insert(source.key) {
                    found.push(Subscription {
                        user: source.user,
                        term: source.term,
                    });
                }
            }
            if hits < self.page_size {
                break;
            }
        }
        found.sort_unstable_by(|a, b| (&a.user, &a.term).cmp(&(&b.user, &b.term)));
        debug!(index = %self.index, post = %post.id, matches = found.len(), "post percolated");
        Ok(found)
    }

    async fn subscribed(
        &self,
        user: &str,
        term: &SubscriptionTerm,
    ) -> Result<(), SubscriptionsError> {
        let context = "recording a real-time subscription";
        let response = self
            .send(
                EsMethod::Put,
                self.document_path("_create", user, term),
                subscription_document(user, term),
                context,
            )
            .await?;
        match response.status {
            200..=299 => Ok(()),
            // Already held: the document stays as first written.
            409 => Ok(()),
            status => Err(refused(status, &response.body, context)),
        }
    }

    async fn unsubscribed(
        &self,
        user: &str,
        term: &SubscriptionTerm,
    ) -> Result<(), SubscriptionsError> {
        let context = "forgetting a real-time subscription";
        let response = self
            .send(
                EsMethod::Delete,
                self.document_path("_doc", user, term),
                // No body: a delete of a document takes none, and the engines refuse one.
                Value::Null,
                context,
            )
            .await?;
        match response.status {
            200..=299 => Ok(()),
            // The document is not there (the index is: a missing index is an error body).
            404 if serde_json::from_slice::<WriteResult>(&response.body)
                .is_ok_and(|answer| answer.result == "not_found") =>
            {
                Ok(())
            }
            404 => {
                debug!(body = %quote(&response.body), "404 without not_found");
                Err(refused(404, &response.body, context))
            }
            status => Err(refused(status, &response.body, context)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_per_user_and_normalised_term_and_never_collide_on_the_border() {
        let id = document_id("ada", "hot dog");
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, document_id("ada", "hot dog"));
        assert_ne!(id, document_id("ada", "dog"));
        assert_ne!(id, document_id("bob", "hot dog"));
        assert_ne!(document_id("ab", "c"), document_id("a", "bc"));
        let longest = "é".repeat(sde_core::criteria::MAX_TERM_CHARS);
        assert_eq!(document_id("ada", &longest).len(), 64);
    }

    #[test]
    fn the_index_maps_the_post_fields_as_the_posts_index_does() {
        let body = subscriptions_index_body();
        let fields = &body["mappings"]["properties"];
        let posts = index_mapping();
        assert_eq!(fields["query"], json!({"type": "percolator"}));
        assert_eq!(
            fields["Content"],
            posts["mappings"]["properties"]["Content"]
        );
        assert_eq!(fields["Tags"], posts["mappings"]["properties"]["Tags"]);
        assert_eq!(body["mappings"]["dynamic"], "strict");
    }

    #[test]
    fn the_readme_creates_the_index_with_this_body() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find(r#"-XPUT "$ES/subscriptions" -H "$J" -d '"#)
            .expect("the README creates the subscriptions index");
        let body = &readme[start..];
        let body = &body[body.find("-d '").unwrap() + 4..];
        let body: Value = serde_json::from_str(&body[..body.find('\'').unwrap()]).unwrap();
        assert_eq!(body, subscriptions_index_body());
    }

    #[test]
    fn the_index_name_is_configurable_and_checked() {
        assert_eq!(subscriptions_index_name(|_| None).unwrap(), "subscriptions");
        assert_eq!(
            subscriptions_index_name(|_| Some("subs-v2".into())).unwrap(),
            "subs-v2"
        );
        let error = subscriptions_index_name(|_| Some("Subs".into())).unwrap_err();
        assert!(
            error.to_string().contains(SUBSCRIPTIONS_INDEX_VARIABLE),
            "{error}"
        );
    }
}
