//! Translating a [`PostQuery`] into a tantivy query with Elasticsearch's semantics.
//!
//! Each term is what Elasticsearch runs for
//! `{"multi_match": {"query": term, "fields": ["Content", "Tags^3"]}}` (type `best_fields`,
//! operator `OR`, tie breaker 0, `zero_terms_query: none`):
//! `dis_max(Content: should(tokens…), 3 × Tags: should(tokens…))`. All terms are required. The
//! date range is a filter scoring 0, so it never changes the ranking. User text only ever goes
//! through the analyser, never through a query parser, so `AND`, `:`, `"` or `-` are plain text.

use crate::schema::PostFields;
use chrono::{DateTime, Utc};
use sde_core::PostQuery;
use std::ops::Bound;
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery, Occur,
    Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::{TextAnalyzer, TokenStream};

/// Boost of `Tags` over `Content`, as in the Elasticsearch query (`Tags^3`).
const TAGS_BOOST: f32 = 3.0;

/// Builds the tantivy query for `query`.
pub(crate) fn build(
    query: &PostQuery,
    fields: &PostFields,
    analyzer: &mut TextAnalyzer,
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for term in &query.terms {
        let tokens = analyze(analyzer, term);
        if tokens.is_empty() {
            // zero_terms_query = none: a term with nothing searchable in it matches nothing.
            return Box::new(EmptyQuery);
        }
        clauses.push((Occur::Must, multi_match(fields, &tokens)));
    }
    if let Some(range) = date_filter(query, fields) {
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(range, 0.0))));
    }
    match clauses.len() {
        0 => Box::new(AllQuery),
        1 if query.terms.len() == 1 => clauses.remove(0).1,
        _ => Box::new(BooleanQuery::new(clauses)),
    }
}

/// The two disjuncts of a query that is one single-token term and nothing else (`today`,
/// `#aurora`): `Content: token` and `3 × Tags: token`, whose `dis_max` [`build`] returns.
///
/// Tantivy prunes a single term's top hits (block-max WAND) but not a `dis_max`, which scores
/// every match; the top hits of the `dis_max` are among the top hits of either disjunct, and
/// its exact count is `|Content| + |Tags| − |both|`, each of which tantivy answers without
/// scoring (a term's count is its document frequency).
pub(crate) struct Disjuncts {
    pub content: Box<dyn Query>,
    pub tags: Box<dyn Query>,
}

impl Disjuncts {
    /// The posts matching both disjuncts.
    pub fn both(&self) -> BooleanQuery {
        BooleanQuery::new(vec![
            (Occur::Must, self.content.box_clone()),
            (Occur::Must, self.tags.box_clone()),
        ])
    }
}

/// The [`Disjuncts`] of `query`, if it is a single single-token term without a date range.
pub(crate) fn disjuncts(
    query: &PostQuery,
    fields: &PostFields,
    analyzer: &mut TextAnalyzer,
) -> Option<Disjuncts> {
    let [term] = query.terms.as_slice() else {
        return None;
    };
    if date_filter(query, fields).is_some() {
        return None;
    }
    let tokens: [String; 1] = analyze(analyzer, term).try_into().ok()?;
    Some(field_matches(fields, &tokens))
}

/// `Content` and `Tags^3` matching any of `tokens`, the two halves of a `multi_match`.
fn field_matches(fields: &PostFields, tokens: &[String]) -> Disjuncts {
    Disjuncts {
        content: match_query(fields.content, tokens),
        tags: Box::new(BoostQuery::new(
            match_query(fields.tags, tokens),
            TAGS_BOOST,
        )),
    }
}

/// The tokens of `text`, in order, duplicates kept (as Elasticsearch's match query does).
pub(crate) fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut tokens = Vec::new();
    while stream.advance() {
        tokens.push(stream.token().text.clone());
    }
    tokens
}

fn multi_match(fields: &PostFields, tokens: &[String]) -> Box<dyn Query> {
    let Disjuncts { content, tags } = field_matches(fields, tokens);
    Box::new(DisjunctionMaxQuery::new(vec![content, tags]))
}

/// Elasticsearch's `match` with operator `OR` on one field.
fn match_query(field: Field, tokens: &[String]) -> Box<dyn Query> {
    let term_query = |token: &String| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, token),
            IndexRecordOption::WithFreqs,
        ))
    };
    match tokens {
        [token] => term_query(token),
        _ => Box::new(BooleanQuery::new(
            tokens
                .iter()
                .map(|token| (Occur::Should, term_query(token)))
                .collect(),
        )),
    }
}

/// The date range as a filter: `None` when both ends are open. An end outside the years
/// 1677–2262 that tantivy can hold is clamped: it either keeps every post or none.
fn date_filter(query: &PostQuery, fields: &PostFields) -> Option<Box<dyn Query>> {
    let range = query.date_range;
    if range.from.is_none() && range.to.is_none() {
        return None;
    }
    let term = |nanos: i64| {
        Term::from_field_date(
            fields.date_created,
            tantivy::DateTime::from_timestamp_nanos(nanos),
        )
    };
    let lower = match range.from.map(nanos) {
        None | Some(Clamped::BeforeAll) => Bound::Unbounded,
        Some(Clamped::At(at)) => Bound::Included(term(at)),
        Some(Clamped::AfterAll) => return Some(Box::new(EmptyQuery)),
    };
    let upper = match range.to.map(nanos) {
        None | Some(Clamped::AfterAll) => Bound::Unbounded,
        Some(Clamped::At(at)) => Bound::Excluded(term(at)),
        Some(Clamped::BeforeAll) => return Some(Box::new(EmptyQuery)),
    };
    if matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
        return None;
    }
    Some(Box::new(RangeQuery::new(lower, upper)))
}

/// A range end as nanoseconds, or where it lies if `i64` nanoseconds cannot hold it.
enum Clamped {
    BeforeAll,
    At(i64),
    AfterAll,
}

fn nanos(at: DateTime<Utc>) -> Clamped {
    match at.timestamp_nanos_opt() {
        Some(nanos) => Clamped::At(nanos),
        None if at.timestamp() < 0 => Clamped::BeforeAll,
        None => Clamped::AfterAll,
    }
}
