//! The request bodies sent to the cluster, as pure functions of the criteria, so tests can
//! compare them with the JSON the design page specifies.
//!
//! Each term is `{"multi_match": {"query": term, "fields": ["Content", "Tags^3"], "type":
//! "best_fields", "operator": "or"}}` under `bool.must`, so every term must match and user text
//! only ever goes through the field analysers — never `query_string`, whose syntax (`AND`, `:`,
//! `*`, quotes) a user could trip over or abuse. The date range is a `bool.filter`, which scores
//! nothing and so never changes the ranking (as in the embedded index).

use chrono::{DateTime, SecondsFormat, Utc};
use sde_core::{Bucket, PageRequest, PostQuery, Slice};
use serde_json::{Value, json};

/// Fields searched by every term, `Tags` boosted ×3.
pub const SEARCH_FIELDS: [&str; 2] = ["Content", "Tags^3"];
/// The `_source` fields a post is made of; anything else in a document is not fetched.
pub const SOURCE_FIELDS: [&str; 4] = ["UserID", "DateCreated", "Content", "Tags"];
/// Deepest result a page search may reach (`from + size`): the cluster's default
/// `index.max_result_window`. Deeper pages are refused with
/// [`IndexErrorKind::Rejected`](sde_core::IndexErrorKind::Rejected) before any request is sent;
/// whole result sets are read with a scan (scroll), which has no such limit.
pub const MAX_RESULT_WINDOW: u64 = 10_000;

/// The `query` clause for `query`: `match_all` when there are no terms and no date range,
/// otherwise a `bool` with the terms under `must` and the range under `filter`.
pub fn query_clause(query: &PostQuery) -> Value {
    let must: Vec<Value> = query.terms.iter().map(|term| term_clause(term)).collect();
    let range = &query.date_range;
    let filter: Vec<Value> = match (range.from, range.to) {
        (None, None) => Vec::new(),
        (from, to) => {
            let mut bounds = serde_json::Map::new();
            if let Some(from) = from {
                bounds.insert("gte".into(), timestamp(from).into());
            }
            if let Some(to) = to {
                bounds.insert("lt".into(), timestamp(to).into());
            }
            vec![json!({"range": {"DateCreated": bounds}})]
        }
    };
    if must.is_empty() && filter.is_empty() {
        return json!({"match_all": {}});
    }
    let mut clauses = serde_json::Map::new();
    if !must.is_empty() {
        clauses.insert("must".into(), must.into());
    }
    if !filter.is_empty() {
        clauses.insert("filter".into(), filter.into());
    }
    json!({"bool": clauses})
}

/// The body of a page search: `from`/`size` of the ranked results with the exact total.
///
/// Ranking is the cluster's default sort, `_score` descending; equal scores keep the order of
/// the documents in their shard (like the embedded index, which ties by document order). The
/// caller pins the shard copies with a `preference` ([`preference`]) so that order does not
/// change between the pages of one search.
pub fn page_body(query: &PostQuery, page: PageRequest) -> Value {
    json!({
        "query": query_clause(query),
        "from": page.offset(),
        "size": page.size,
        "track_total_hits": true,
        "_source": SOURCE_FIELDS,
    })
}

/// The body asking only for the exact total of `query` (no hits), used to tell a page past the
/// end (empty, not an error) from a page beyond [`MAX_RESULT_WINDOW`].
pub fn count_body(query: &PostQuery) -> Value {
    json!({
        "query": query_clause(query),
        "size": 0,
        "track_total_hits": true,
    })
}

/// The body opening a scroll: batches of `batch_size` in index order (`_doc`, the cheapest
/// order, and stable for the scroll's life), with the exact total.
pub fn scroll_body(query: &PostQuery, batch_size: usize) -> Value {
    json!({
        "query": query_clause(query),
        "size": batch_size,
        "sort": ["_doc"],
        "track_total_hits": true,
        "_source": SOURCE_FIELDS,
    })
}

/// The body fetching the next batch of a scroll.
pub fn scroll_next_body(scroll_id: &str, keep_alive: &str) -> Value {
    json!({"scroll": keep_alive, "scroll_id": scroll_id})
}

/// The body releasing scrolls.
pub fn clear_scroll_body(scroll_ids: &[String]) -> Value {
    json!({"scroll_id": scroll_ids})
}

/// The body counting the matches of `query` inside the point in time `pit_id` (no hits), which
/// also extends the point in time by `keep_alive`. It carries the `sort` the slices will page
/// with, so a cluster that cannot sort by it (Elasticsearch before 7.12 has no `_shard_doc`)
/// refuses here, before the export is cut into slices.
pub fn pit_count_body(query: &PostQuery, pit_id: &str, keep_alive: &str, sort: &Value) -> Value {
    json!({
        "query": query_clause(query),
        "size": 0,
        "sort": sort,
        "track_total_hits": true,
        "pit": {"id": pit_id, "keep_alive": keep_alive},
    })
}

/// One page of a slice of a point in time: `batch_size` hits of `query` in the order `sort`,
/// the slice `{id, max}` when there is more than one (the engines refuse `max: 1`), after the
/// sort values `search_after` when given. Only the first page asks for the exact total (the
/// slice's own); later pages skip counting.
#[allow(clippy::too_many_arguments)]
pub fn pit_page_body(
    query: &PostQuery,
    pit_id: &str,
    keep_alive: &str,
    slice: Slice,
    sort: &Value,
    batch_size: usize,
    search_after: Option<&[Value]>,
) -> Value {
    let mut body = json!({
        "query": query_clause(query),
        "size": batch_size,
        "sort": sort,
        "track_total_hits": search_after.is_none(),
        "_source": SOURCE_FIELDS,
        "pit": {"id": pit_id, "keep_alive": keep_alive},
    });
    if slice.count > 1 {
        body["slice"] = json!({"id": slice.index, "max": slice.count});
    }
    if let Some(after) = search_after {
        body["search_after"] = Value::from(after.to_vec());
    }
    body
}

/// The keyword sub-field of `Tags` (see [`index_mapping`](crate::index_mapping)) that tag
/// counts aggregate over.
pub const TAGS_KEYWORD: &str = "Tags.keyword";

/// The body of an aggregation-only search: no hits, the exact total, and `aggs`.
fn aggregation_body(query: &PostQuery, aggs: Value) -> Value {
    json!({
        "query": query_clause(query),
        "size": 0,
        "track_total_hits": true,
        "aggs": aggs,
    })
}

/// The body asking how many posts match `query` and the oldest and newest `DateCreated`
/// among them (`min`/`max` aggregations).
pub fn summary_body(query: &PostQuery) -> Value {
    aggregation_body(
        query,
        json!({
            "oldest": {"min": {"field": "DateCreated"}},
            "newest": {"max": {"field": "DateCreated"}},
        }),
    )
}

/// The body counting the posts matching `query` per `bucket`: a `date_histogram` in UTC with
/// `fixed_interval` for hours and `calendar_interval` for days, weeks (starting Monday) and
/// months; only buckets holding posts are returned (the caller fills the gaps).
pub fn frequency_body(query: &PostQuery, bucket: Bucket) -> Value {
    let (kind, interval) = match bucket {
        Bucket::Hour => ("fixed_interval", "1h"),
        Bucket::Day => ("calendar_interval", "1d"),
        Bucket::Week => ("calendar_interval", "1w"),
        Bucket::Month => ("calendar_interval", "1M"),
    };
    aggregation_body(
        query,
        json!({"frequency": {"date_histogram": {
            "field": "DateCreated",
            kind: interval,
            "time_zone": "UTC",
            "min_doc_count": 1,
        }}}),
    )
}

/// The body counting the `limit` tags most posts matching `query` carry: a `terms`
/// aggregation on [`TAGS_KEYWORD`], most posts first and ties by tag.
pub fn top_tags_body(query: &PostQuery, limit: usize) -> Value {
    aggregation_body(
        query,
        json!({"tags": {"terms": {
            "field": TAGS_KEYWORD,
            "size": limit,
            "order": [{"_count": "desc"}, {"_key": "asc"}],
        }}}),
    )
}

/// Whether the page reaches past [`MAX_RESULT_WINDOW`].
pub fn is_too_deep(page: PageRequest) -> bool {
    page.offset() + u64::from(page.size) > MAX_RESULT_WINDOW
}

/// A `preference` value derived from the query body: every page of one search goes to the same
/// shard copies (so equal scores tie the same way on every page, and scores agree), while
/// different searches still spread over the replicas. Elasticsearch's guide recommends a
/// preference string for exactly this ("getting consistent scoring").
pub fn preference(query_clause: &Value) -> String {
    // FNV-1a: tiny, and stable across builds and machines (std's hasher is neither promised).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in query_clause.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("sde-{hash:016x}")
}

/// The clause one term is: `multi_match` over [`SEARCH_FIELDS`], `best_fields`, operator `or`.
/// A search puts one per term under `bool.must`; the subscriptions index stores one per
/// real-time subscription as its percolator query, so both mean the same by a term.
pub fn term_clause(term: &str) -> Value {
    json!({
        "multi_match": {
            "query": term,
            "fields": SEARCH_FIELDS,
            "type": "best_fields",
            "operator": "or",
        }
    })
}

/// RFC 3339 in UTC with `Z`, fractional seconds only when present — a form every
/// `strict_date_optional_time` date field accepts.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sde_core::DateRange;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn terms(terms: &[&str]) -> PostQuery {
        PostQuery {
            terms: terms.iter().map(|t| (*t).to_owned()).collect(),
            ..PostQuery::default()
        }
    }

    fn term_clause(term: &str) -> Value {
        json!({"multi_match": {"query": term, "fields": ["Content", "Tags^3"],
                               "type": "best_fields", "operator": "or"}})
    }

    #[test]
    fn no_terms_and_no_range_match_everything() {
        assert_eq!(
            query_clause(&PostQuery::default()),
            json!({"match_all": {}})
        );
    }

    #[test]
    fn every_term_is_a_required_multi_match() {
        assert_eq!(
            query_clause(&terms(&["cats", "dogs"])),
            json!({"bool": {"must": [term_clause("cats"), term_clause("dogs")]}})
        );
    }

    #[test]
    fn a_date_range_alone_is_a_filter() {
        let query = PostQuery {
            date_range: DateRange {
                from: Some(at("2019-07-21T00:00:00Z")),
                to: Some(at("2019-07-23T00:00:00Z")),
            },
            ..PostQuery::default()
        };
        assert_eq!(
            query_clause(&query),
            json!({"bool": {"filter": [{"range": {"DateCreated": {
                "gte": "2019-07-21T00:00:00Z", "lt": "2019-07-23T00:00:00Z"}}}]}})
        );
    }

    #[test]
    fn terms_and_range_combine_and_open_ends_are_left_out() {
        let query = PostQuery {
            terms: vec!["cats".into()],
            date_range: DateRange {
                from: None,
                to: Some(at("2020-01-01T12:30:00.250+02:00")),
            },
        };
        assert_eq!(
            query_clause(&query),
            json!({"bool": {
                "must": [term_clause("cats")],
                "filter": [{"range": {"DateCreated": {"lt": "2020-01-01T10:30:00.250Z"}}}]
            }})
        );
        let query = PostQuery {
            date_range: DateRange {
                from: Some(at("2020-01-01T00:00:00Z")),
                to: None,
            },
            ..PostQuery::default()
        };
        assert_eq!(
            query_clause(&query),
            json!({"bool": {"filter": [{"range": {"DateCreated": {"gte": "2020-01-01T00:00:00Z"}}}]}})
        );
    }

    #[test]
    fn query_syntax_in_user_text_stays_plain_text() {
        let text = r#"cats AND dogs:* "quoted" -not (x OR y)~2 \"#;
        let clause = query_clause(&terms(&[text]));
        assert_eq!(clause, json!({"bool": {"must": [term_clause(text)]}}));
        assert!(!clause.to_string().contains("query_string"));
    }

    #[test]
    fn a_page_asks_for_its_slice_with_the_exact_total() {
        let page = PageRequest {
            number: 3,
            size: 25,
        };
        assert_eq!(
            page_body(&terms(&["cats"]), page),
            json!({
                "query": {"bool": {"must": [term_clause("cats")]}},
                "from": 75, "size": 25, "track_total_hits": true,
                "_source": ["UserID", "DateCreated", "Content", "Tags"]
            })
        );
    }

    #[test]
    fn a_scroll_reads_in_index_order_with_the_exact_total() {
        assert_eq!(
            scroll_body(&PostQuery::default(), 500),
            json!({
                "query": {"match_all": {}},
                "size": 500, "sort": ["_doc"], "track_total_hits": true,
                "_source": ["UserID", "DateCreated", "Content", "Tags"]
            })
        );
        assert_eq!(
            scroll_next_body("abc", "2m"),
            json!({"scroll": "2m", "scroll_id": "abc"})
        );
        assert_eq!(
            clear_scroll_body(&["a".into(), "b".into()]),
            json!({"scroll_id": ["a", "b"]})
        );
    }

    #[test]
    fn pages_past_the_result_window_are_too_deep() {
        assert!(!is_too_deep(PageRequest {
            number: 999,
            size: 10
        }));
        assert!(is_too_deep(PageRequest {
            number: 1000,
            size: 10
        }));
        assert!(is_too_deep(PageRequest {
            number: 0,
            size: 10_001
        }));
        assert!(is_too_deep(PageRequest {
            number: u32::MAX,
            size: 1_000
        }));
    }

    #[test]
    fn the_preference_is_stable_per_query_and_differs_between_queries() {
        let cats = query_clause(&terms(&["cats"]));
        let dogs = query_clause(&terms(&["dogs"]));
        assert_eq!(preference(&cats), preference(&cats.clone()));
        assert_ne!(preference(&cats), preference(&dogs));
        assert!(preference(&cats).starts_with("sde-"));
    }
}
