//! Reading what the cluster answers: search and scroll bodies (Elasticsearch 7 and 8, OpenSearch
//! 2), error bodies, and the mapping of HTTP statuses to [`IndexErrorKind`].

use crate::error::EsError;
use sde_core::post::PostSource;
use sde_core::{IndexError, IndexErrorKind, Post};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// Longest piece of a response body quoted in an error.
const MAX_QUOTED_BODY: usize = 500;

/// The parts of a search or scroll response this crate uses.
#[derive(Debug, Deserialize)]
pub struct SearchResponse {
    /// Present on responses to scroll requests.
    #[serde(rename = "_scroll_id", default)]
    pub scroll_id: Option<String>,
    /// Present on responses to searches of a point in time: the id to continue with (it may
    /// differ from the one sent).
    #[serde(default)]
    pub pit_id: Option<String>,
    /// Milliseconds the cluster spent.
    #[serde(default)]
    pub took: u64,
    /// Whether a shard ran out of its search timeout (results are then partial).
    #[serde(default)]
    pub timed_out: bool,
    /// How many shards answered.
    #[serde(rename = "_shards")]
    pub shards: Shards,
    /// The hits and their total.
    pub hits: Hits,
    /// The results of the request's `aggs`, by name.
    #[serde(default)]
    pub aggregations: Option<Value>,
}

/// The `_shards` header of a search or write response.
#[derive(Debug, Default, Deserialize)]
pub struct Shards {
    /// Shards searched.
    #[serde(default)]
    pub total: u64,
    /// Shards that answered.
    #[serde(default)]
    pub successful: u64,
    /// Shards skipped because they could hold no match (they count as answered).
    #[serde(default)]
    pub skipped: u64,
    /// Shards that failed.
    #[serde(default)]
    pub failed: u64,
    /// Why they failed.
    #[serde(default)]
    pub failures: Vec<ShardFailure>,
}

/// One entry of `_shards.failures`.
#[derive(Debug, Default, Deserialize)]
pub struct ShardFailure {
    /// Shard number.
    #[serde(default)]
    pub shard: Option<i64>,
    /// Index of the shard.
    #[serde(default)]
    pub index: Option<String>,
    /// Node id that failed.
    #[serde(default)]
    pub node: Option<String>,
    /// The exception, `{type, reason, caused_by?}`.
    #[serde(default)]
    pub reason: Option<Value>,
}

/// The `hits` section.
#[derive(Debug, Deserialize)]
pub struct Hits {
    /// The number of matches; absent only when not tracked, which this crate never asks for.
    #[serde(default)]
    pub total: Option<TotalHits>,
    /// The hits of this page or batch.
    #[serde(default)]
    pub hits: Vec<Hit>,
}

/// `hits.total`: an object since Elasticsearch 7 and in OpenSearch, a bare number before.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TotalHits {
    /// `{"value": 1234, "relation": "eq" | "gte"}`.
    Object { value: u64, relation: String },
    /// `1234` (Elasticsearch 6, or `rest_total_hits_as_int=true`).
    Number(u64),
}

/// One hit; `_source` is kept raw so a bad document is reported by its id.
#[derive(Debug, Deserialize)]
pub struct Hit {
    /// The document id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The stored document.
    #[serde(rename = "_source", default)]
    pub source: Option<Box<RawValue>>,
    /// The hit's sort values, on sorted searches (`search_after` continues from them).
    #[serde(default)]
    pub sort: Option<Vec<Value>>,
}

impl SearchResponse {
    /// Parses a 2xx body; `context` says what the request was for.
    pub fn parse(body: &[u8], context: &str) -> Result<Self, IndexError> {
        serde_json::from_slice(body).map_err(|source| {
            IndexError::new(IndexErrorKind::Corrupt, context).with_source(EsError::Body {
                source,
                start: quote(body),
            })
        })
    }

    /// The exact total, or an error if the cluster gave only a bound or none.
    pub fn exact_total(&self, context: &str) -> Result<u64, IndexError> {
        match &self.hits.total {
            Some(TotalHits::Number(n)) => Ok(*n),
            Some(TotalHits::Object { value, relation }) if relation == "eq" => Ok(*value),
            Some(TotalHits::Object { value, relation }) => Err(IndexError::new(
                IndexErrorKind::Corrupt,
                context,
            )
            .with_source(EsError::InexactTotal {
                value: *value,
                relation: relation.clone(),
            })),
            None => Err(IndexError::new(IndexErrorKind::Corrupt, context)
                .with_source(EsError::MissingTotal)),
        }
    }

    /// The error for shard failures, if any: `None` when every shard answered.
    pub fn shard_failures(&self) -> Option<EsError> {
        (self.shards.failed > 0).then(|| EsError::ShardFailures {
            failed: self.shards.failed,
            total: self.shards.total,
            reason: self
                .shards
                .failures
                .first()
                .map(ShardFailure::describe)
                .unwrap_or_else(|| "no reason given".to_owned()),
        })
    }

    /// Whether no shard at all answered (the results are empty, not partial).
    pub fn no_shard_answered(&self) -> bool {
        self.shards.total > 0 && self.shards.successful == 0 && self.shards.failed > 0
    }

    /// The hits as posts, in order; a document that is not a post is an error naming its id.
    pub fn into_posts(self) -> Result<Vec<Post>, IndexError> {
        self.hits.hits.into_iter().map(Hit::into_post).collect()
    }
}

impl Hit {
    /// Joins the id with its `_source`.
    pub fn into_post(self) -> Result<Post, IndexError> {
        let corrupt = |id: &str| {
            IndexError::new(
                IndexErrorKind::Corrupt,
                format!("reading document {id:?} of the index"),
            )
        };
        let Some(source) = self.source else {
            return Err(corrupt(&self.id).with_source(EsError::MissingSource {
                id: self.id.clone(),
            }));
        };
        match serde_json::from_str::<PostSource>(source.get()) {
            Ok(source) => Ok(Post::from_source(self.id, source)),
            Err(error) => Err(corrupt(&self.id).with_source(EsError::Document {
                id: self.id.clone(),
                source: error,
            })),
        }
    }
}

impl ShardFailure {
    /// `type: reason` of the failure, with where it happened.
    pub fn describe(&self) -> String {
        let cause = self
            .reason
            .as_ref()
            .map(describe_cause)
            .unwrap_or_else(|| "no reason given".to_owned());
        match (&self.index, self.shard, &self.node) {
            (Some(index), Some(shard), Some(node)) => {
                format!("{cause} (index {index}, shard {shard}, node {node})")
            }
            (Some(index), Some(shard), None) => format!("{cause} (index {index}, shard {shard})"),
            _ => cause,
        }
    }
}

/// The error an HTTP status other than 2xx stands for, with the cluster's explanation as cause.
///
/// 429 (queue full, circuit breaker), 502/503/504 (node or proxy trouble), other 5xx, and 401/403
/// (credentials or role mapping — a deployment fault the caller cannot fix) are `Unavailable`;
/// 408 is `Timeout`; 404 is `Unavailable` for a missing index and `Timeout` for an expired
/// scroll (the scan was too slow for its keep-alive); any other 4xx (400 for a query the cluster
/// cannot run) is `Rejected`.
pub fn status_error(status: u16, body: &[u8], context: &str) -> IndexError {
    let detail = ErrorDetail::parse(body);
    let kind = match status {
        404 if detail.is("search_context_missing_exception") => IndexErrorKind::Timeout,
        408 => IndexErrorKind::Timeout,
        401 | 403 | 404 | 429 => IndexErrorKind::Unavailable,
        400..=499 => IndexErrorKind::Rejected,
        _ => IndexErrorKind::Unavailable,
    };
    IndexError::new(kind, context).with_source(EsError::Status {
        status,
        error_type: detail.error_type,
        reason: detail.reason,
    })
}

/// The `error` object of an error body, flattened for messages.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// The outer exception type, e.g. `search_phase_execution_exception`.
    pub error_type: String,
    /// The reason, with the first root cause when it says more.
    pub reason: String,
    /// Every exception type named in the body (outer, root causes, shard failures, causes).
    types: Vec<String>,
}

impl ErrorDetail {
    /// Reads an error body: `{"error": {…}, "status": n}`, `{"error": "text"}`, or anything else
    /// (quoted, e.g. the HTML page of a proxy).
    pub fn parse(body: &[u8]) -> Self {
        let value: Value = match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(_) => {
                return ErrorDetail {
                    error_type: "unknown".into(),
                    reason: quote(body),
                    types: Vec::new(),
                };
            }
        };
        match value.get("error") {
            Some(Value::Object(error)) => {
                let error = Value::Object(error.clone());
                let mut types = Vec::new();
                collect_types(&error, &mut types);
                let error_type = text(&error, "type").unwrap_or("unknown").to_owned();
                let mut reason = text(&error, "reason")
                    .unwrap_or("no reason given")
                    .to_owned();
                let root = error
                    .get("root_cause")
                    .and_then(|causes| causes.get(0))
                    .map(describe_cause);
                let caused_by = error.get("caused_by").map(describe_cause);
                if let Some(more) = root.or(caused_by)
                    && !more.ends_with(&reason)
                {
                    reason = format!("{reason}; caused by {more}");
                }
                ErrorDetail {
                    error_type,
                    reason,
                    types,
                }
            }
            Some(Value::String(text)) => ErrorDetail {
                error_type: "unknown".into(),
                reason: text.clone(),
                types: Vec::new(),
            },
            _ => ErrorDetail {
                error_type: "unknown".into(),
                reason: quote(body),
                types: Vec::new(),
            },
        }
    }

    /// Whether the body names exception type `error_type` anywhere.
    pub fn is(&self, error_type: &str) -> bool {
        self.types.iter().any(|t| t == error_type)
    }
}

/// `type: reason` of an exception object.
fn describe_cause(cause: &Value) -> String {
    match (text(cause, "type"), text(cause, "reason")) {
        (Some(kind), Some(reason)) => format!("{kind}: {reason}"),
        (Some(kind), None) => kind.to_owned(),
        (None, Some(reason)) => reason.to_owned(),
        (None, None) => cause.to_string(),
    }
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn collect_types(value: &Value, types: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(kind)) = map.get("type") {
                types.push(kind.clone());
            }
            for (key, inner) in map {
                if matches!(
                    key.as_str(),
                    "root_cause" | "caused_by" | "failed_shards" | "reason"
                ) {
                    collect_types(inner, types);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_types(item, types)),
        _ => {}
    }
}

/// The start of a body, for error messages.
pub fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(MAX_QUOTED_BODY) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Vec<u8> {
        serde_json::to_vec(&value).unwrap()
    }

    #[test]
    fn totals_come_as_objects_or_numbers() {
        let parse = |total: Value| {
            SearchResponse::parse(
                &body(json!({"_shards": {}, "hits": {"total": total, "hits": []}})),
                "test",
            )
            .unwrap()
        };
        assert_eq!(
            parse(json!({"value": 12, "relation": "eq"}))
                .exact_total("t")
                .unwrap(),
            12
        );
        assert_eq!(parse(json!(7)).exact_total("t").unwrap(), 7);
        let error = parse(json!({"value": 10000, "relation": "gte"}))
            .exact_total("t")
            .unwrap_err();
        assert_eq!(error.kind, IndexErrorKind::Corrupt);
    }

    #[test]
    fn a_document_that_is_not_a_post_is_named() {
        let response = SearchResponse::parse(
            &body(json!({"_shards": {}, "hits": {"hits": [
                {"_id": "bad-1", "_source": {"UserID": 1, "DateCreated": "yesterday", "Content": ""}}
            ]}})),
            "test",
        )
        .unwrap();
        let error = response.into_posts().unwrap_err();
        assert_eq!(error.kind, IndexErrorKind::Corrupt);
        assert!(error.to_string().contains("\"bad-1\""), "{error}");
    }

    #[test]
    fn statuses_map_to_kinds() {
        let kind = |status, body: &[u8]| status_error(status, body, "t").kind;
        assert_eq!(kind(400, b"{}"), IndexErrorKind::Rejected);
        assert_eq!(kind(429, b"{}"), IndexErrorKind::Unavailable);
        assert_eq!(
            kind(502, b"<html>bad gateway</html>"),
            IndexErrorKind::Unavailable
        );
        assert_eq!(kind(503, b""), IndexErrorKind::Unavailable);
        assert_eq!(kind(504, b""), IndexErrorKind::Unavailable);
        assert_eq!(kind(401, b""), IndexErrorKind::Unavailable);
        assert_eq!(kind(408, b""), IndexErrorKind::Timeout);
        let expired = body(
            json!({"error": {"root_cause": [{"type": "search_context_missing_exception",
            "reason": "No search context found for id [91]"}], "type": "search_phase_execution_exception",
            "reason": "all shards failed"}, "status": 404}),
        );
        assert_eq!(kind(404, &expired), IndexErrorKind::Timeout);
        let missing = body(json!({"error": {"type": "index_not_found_exception",
            "reason": "no such index [posts]"}, "status": 404}));
        assert_eq!(kind(404, &missing), IndexErrorKind::Unavailable);
    }

    #[test]
    fn error_bodies_keep_type_and_root_cause() {
        let detail = ErrorDetail::parse(&body(json!({"error": {
            "root_cause": [{"type": "query_shard_exception", "reason": "failed to create query"}],
            "type": "search_phase_execution_exception", "reason": "all shards failed"}, "status": 400})));
        assert_eq!(detail.error_type, "search_phase_execution_exception");
        assert_eq!(
            detail.reason,
            "all shards failed; caused by query_shard_exception: failed to create query"
        );
        assert!(detail.is("query_shard_exception"));
        let proxy = ErrorDetail::parse(b"<html><body>502 Bad Gateway</body></html>");
        assert_eq!(proxy.reason, "<html><body>502 Bad Gateway</body></html>");
    }

    #[test]
    fn long_bodies_are_cut_when_quoted() {
        let quoted = quote("é".repeat(2 * MAX_QUOTED_BODY).as_bytes());
        assert_eq!(quoted.chars().count(), MAX_QUOTED_BODY + 1);
    }
}
