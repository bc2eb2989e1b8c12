//! The `/search` request body and its validated form, shared by search and export.
//!
//! The wire shape is the one the existing frontend sends:
//! `{"type": "post", "results": 10, "page": 0, "search": [{"value": "cats"}, {"dateRange": [from, to]}]}`.
//! Its earlier versions name the searched field of a term, `{"field": "all", "value": "cats"}`;
//! `all` (every searchable field) is the only field there is, and is accepted.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The only document type the index holds (the index's name, which results carry as `Type`).
pub const POSTS_TYPE: &str = "posts";
/// The `type` values that name it: the index's name, and the singular the frontend sends.
pub const POSTS_TYPE_NAMES: [&str; 2] = [POSTS_TYPE, "post"];
/// The `field` a term may name: every searchable field (`Content` and `Tags`).
pub const ALL_FIELDS: &str = "all";
/// Page size used when the request gives none.
pub const DEFAULT_PAGE_SIZE: u32 = 10;
/// Largest page a single `/search` call may ask for.
pub const MAX_PAGE_SIZE: u32 = 1_000;
/// Most `{"value": …}` terms one request may carry.
pub const MAX_TERMS: usize = 32;
/// Longest single term, in characters.
pub const MAX_TERM_CHARS: usize = 512;
/// How deep paging may go: results past this position cannot be paged to (Elasticsearch's
/// default `index.max_result_window`); the whole result is still available as an export.
pub const MAX_RESULT_WINDOW: u64 = 10_000;

/// The `/search` body exactly as received; [`SearchCriteria::try_from`] validates it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub doc_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<Value>,
    #[serde(default)]
    pub search: Vec<Value>,
}

/// What must match: every term (each a `multi_match` over `Content` and `Tags^3`) and the
/// optional date range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostQuery {
    pub terms: Vec<String>,
    pub date_range: DateRange,
}

/// `from <= DateCreated < to`; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl DateRange {
    /// Whether `at` falls inside the half-open range.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| from <= at) && self.to.is_none_or(|to| at < to)
    }
}

/// Which slice of the ranked results a `/search` call wants; `number` is zero-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub number: u32,
    pub size: u32,
}

impl PageRequest {
    /// Index of the first result of this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.number) * u64::from(self.size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            number: 0,
            size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// A validated `/search` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchCriteria {
    pub query: PostQuery,
    pub page: PageRequest,
}

/// Why a search body was refused; the message is meant for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CriteriaError {
    #[error("unsupported type {0:?}: the only searchable type is \"post\" (or \"posts\")")]
    UnsupportedType(String),
    #[error("\"{field}\" must be a whole number between {min} and {max}")]
    OutOfRange {
        field: &'static str,
        min: u64,
        max: u64,
    },
    #[error("search[{index}] must be {{\"value\": \"text\"}} or {{\"dateRange\": [from, to]}}")]
    UnknownClause { index: usize },
    #[error("search[{index}].field is {field:?}: the only field a term can search is \"all\"")]
    UnknownField { index: usize, field: String },
    #[error("search[{index}].value must not be empty")]
    EmptyTerm { index: usize },
    #[error("search[{index}].value is longer than {max} characters")]
    TermTooLong { index: usize, max: usize },
    #[error("at most {max} search terms are allowed")]
    TooManyTerms { max: usize },
    #[error("search[{index}].dateRange has more than one date range")]
    DuplicateDateRange { index: usize },
    #[error(
        "search[{index}].dateRange[{end}] is {value:?}, not an RFC 3339 timestamp \
         (e.g. 2019-07-21T00:00:00Z) or a date (2019-07-21)"
    )]
    InvalidDate {
        index: usize,
        end: usize,
        value: String,
    },
    #[error("search[{index}].dateRange must be [from, to] with from before to")]
    InvertedDateRange { index: usize },
    #[error(
        "page {page} is too deep: only the first {max} results can be paged through; \
         narrow the search or export the whole result"
    )]
    PageTooDeep { page: u32, max: u64 },
}

impl TryFrom<&SearchRequest> for SearchCriteria {
    type Error = CriteriaError;

    fn try_from(request: &SearchRequest) -> Result<Self, Self::Error> {
        if let Some(doc_type) = &request.doc_type
            && !POSTS_TYPE_NAMES.contains(&doc_type.as_str())
        {
            return Err(CriteriaError::UnsupportedType(doc_type.clone()));
        }
        let size = whole_number(request.results.as_ref(), "results", 1, MAX_PAGE_SIZE)?
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let number = whole_number(request.page.as_ref(), "page", 0, u32::MAX)?.unwrap_or(0);
        let page = PageRequest { number, size };
        if page.offset() + u64::from(size) > MAX_RESULT_WINDOW {
            return Err(CriteriaError::PageTooDeep {
                page: number,
                max: MAX_RESULT_WINDOW,
            });
        }
        let query = parse_clauses(&request.search)?;
        Ok(SearchCriteria { query, page })
    }
}

impl TryFrom<SearchRequest> for SearchCriteria {
    type Error = CriteriaError;

    fn try_from(request: SearchRequest) -> Result<Self, Self::Error> {
        SearchCriteria::try_from(&request)
    }
}

fn whole_number(
    value: Option<&Value>,
    field: &'static str,
    min: u32,
    max: u32,
) -> Result<Option<u32>, CriteriaError> {
    let out_of_range = || CriteriaError::OutOfRange {
        field,
        min: min.into(),
        max: max.into(),
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let n = n.as_u64().ok_or_else(out_of_range)?;
            let n = u32::try_from(n).map_err(|_| out_of_range())?;
            if n < min || n > max {
                Err(out_of_range())
            } else {
                Ok(Some(n))
            }
        }
        // The frontend builds some bodies from form fields, so "10" is accepted as 10.
        Some(Value::String(s)) => match s.trim().parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(out_of_range()),
        },
        Some(_) => Err(out_of_range()),
    }
}

fn parse_clauses(clauses: &[Value]) -> Result<PostQuery, CriteriaError> {
    let mut query = PostQuery::default();
    let mut seen_range = false;
    for (index, clause) in clauses.iter().enumerate() {
        let Value::Object(fields) = clause else {
            return Err(CriteriaError::UnknownClause { index });
        };
        let field = match fields.get("field") {
            None => None,
            Some(Value::String(field)) if field == ALL_FIELDS => Some(field),
            Some(Value::String(field)) => {
                return Err(CriteriaError::UnknownField {
                    index,
                    field: field.clone(),
                });
            }
            Some(_) => return Err(CriteriaError::UnknownClause { index }),
        };
        let own_fields = fields.len() - usize::from(field.is_some());
        match (fields.get("value"), fields.get("dateRange"), own_fields) {
            (Some(value), None, 1) => {
                let Value::String(text) = value else {
                    return Err(CriteriaError::UnknownClause { index });
                };
                let text = text.trim();
                if text.is_empty() {
                    return Err(CriteriaError::EmptyTerm { index });
                }
                if text.chars().count() > MAX_TERM_CHARS {
                    return Err(CriteriaError::TermTooLong {
                        index,
                        max: MAX_TERM_CHARS,
                    });
                }
                if query.terms.len() == MAX_TERMS {
                    return Err(CriteriaError::TooManyTerms { max: MAX_TERMS });
                }
                query.terms.push(text.to_owned());
            }
            (None, Some(range), 1) if field.is_none() => {
                if seen_range {
                    return Err(CriteriaError::DuplicateDateRange { index });
                }
                seen_range = true;
                query.date_range = parse_date_range(index, range)?;
            }
            _ => return Err(CriteriaError::UnknownClause { index }),
        }
    }
    Ok(query)
}

fn parse_date_range(index: usize, range: &Value) -> Result<DateRange, CriteriaError> {
    let Value::Array(ends) = range else {
        return Err(CriteriaError::UnknownClause { index });
    };
    if ends.len() > 2 {
        return Err(CriteriaError::UnknownClause { index });
    }
    let end = |end: usize| parse_date_end(index, end, ends.get(end));
    let range = DateRange {
        from: end(0)?,
        to: end(1)?,
    };
    if let (Some(from), Some(to)) = (range.from, range.to)
        && from >= to
    {
        return Err(CriteriaError::InvertedDateRange { index });
    }
    Ok(range)
}

fn parse_date_end(
    index: usize,
    end: usize,
    value: Option<&Value>,
) -> Result<Option<DateTime<Utc>>, CriteriaError> {
    let invalid = |value: String| CriteriaError::InvalidDate { index, end, value };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => parse_timestamp(s.trim())
            .map(Some)
            .ok_or_else(|| invalid(s.clone())),
        Some(other) => Err(invalid(other.to_string())),
    }
}

/// Parses an RFC 3339 timestamp, or a bare `YYYY-MM-DD` date meaning midnight UTC.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn criteria(body: Value) -> Result<SearchCriteria, CriteriaError> {
        let request: SearchRequest = serde_json::from_value(body).unwrap();
        SearchCriteria::try_from(request)
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_frontends_body_parses_into_terms_range_and_page() {
        let parsed = criteria(json!({
            "type": "posts", "results": 25, "page": 3,
            "search": [{"value": " cats "}, {"value": "dogs"},
                       {"dateRange": ["2019-07-21T00:00:00Z", "2019-07-23T00:00:00+02:00"]}]
        }))
        .unwrap();
        assert_eq!(parsed.query.terms, ["cats", "dogs"]);
        assert_eq!(
            parsed.query.date_range.from,
            Some(at("2019-07-21T00:00:00Z"))
        );
        assert_eq!(parsed.query.date_range.to, Some(at("2019-07-22T22:00:00Z")));
        assert_eq!(
            parsed.page,
            PageRequest {
                number: 3,
                size: 25
            }
        );
        assert_eq!(parsed.page.offset(), 75);
    }

    #[test]
    fn the_type_may_be_singular_or_plural_and_a_term_may_name_every_field() {
        for doc_type in ["post", "posts"] {
            let parsed = criteria(json!({
                "type": doc_type, "results": 10, "page": 0,
                "search": [{"field": "all", "value": "cats"}, {"value": "dogs"}]
            }))
            .unwrap();
            assert_eq!(parsed.query.terms, ["cats", "dogs"]);
        }
    }

    #[test]
    fn a_term_naming_another_field_or_a_field_on_a_date_range_is_refused() {
        assert_eq!(
            criteria(json!({"search": [{"field": "Content", "value": "cats"}]})),
            Err(CriteriaError::UnknownField {
                index: 0,
                field: "Content".into()
            })
        );
        assert_eq!(
            criteria(json!({"search": [{"field": 1, "value": "cats"}]})),
            Err(CriteriaError::UnknownClause { index: 0 })
        );
        assert_eq!(
            criteria(json!({"search": [{"field": "all", "dateRange": ["2020-01-01"]}]})),
            Err(CriteriaError::UnknownClause { index: 0 })
        );
        assert_eq!(
            criteria(json!({"search": [{"field": "all"}]})),
            Err(CriteriaError::UnknownClause { index: 0 })
        );
    }

    #[test]
    fn an_empty_body_means_every_post_first_page() {
        let parsed = criteria(json!({})).unwrap();
        assert_eq!(parsed, SearchCriteria::default());
    }

    #[test]
    fn either_end_of_the_date_range_may_be_open() {
        let parsed = criteria(json!({"search": [{"dateRange": [null, "2020-01-01"]}]})).unwrap();
        assert_eq!(
            parsed.query.date_range,
            DateRange {
                from: None,
                to: Some(at("2020-01-01T00:00:00Z"))
            }
        );
        let parsed = criteria(json!({"search": [{"dateRange": ["2020-01-01", ""]}]})).unwrap();
        assert_eq!(parsed.query.date_range.to, None);
        let parsed = criteria(json!({"search": [{"dateRange": ["2020-01-01"]}]})).unwrap();
        assert_eq!(
            parsed.query.date_range.from,
            Some(at("2020-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn the_date_range_is_half_open() {
        let range = DateRange {
            from: Some(at("2020-01-01T00:00:00Z")),
            to: Some(at("2020-01-02T00:00:00Z")),
        };
        assert!(range.contains(at("2020-01-01T00:00:00Z")));
        assert!(!range.contains(at("2020-01-02T00:00:00Z")));
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        let cases = [
            (json!({"type": "users"}), "unsupported type \"users\""),
            (
                json!({"results": 0}),
                "\"results\" must be a whole number between 1 and 1000",
            ),
            (
                json!({"results": 5000}),
                "\"results\" must be a whole number between 1 and 1000",
            ),
            (json!({"page": -1}), "\"page\" must be a whole number"),
            (json!({"page": 1.5}), "\"page\" must be a whole number"),
            (json!({"search": ["cats"]}), "search[0] must be"),
            (
                json!({"search": [{"value": "a", "extra": 1}]}),
                "search[0] must be",
            ),
            (json!({"search": [{"value": 3}]}), "search[0] must be"),
            (
                json!({"search": [{"value": "a"}, {"value": "  "}]}),
                "search[1].value must not be empty",
            ),
            (
                json!({"search": [{"dateRange": ["yesterday", null]}]}),
                "search[0].dateRange[0] is \"yesterday\"",
            ),
            (
                json!({"search": [{"dateRange": ["2020-02-01", "2020-01-01"]}]}),
                "from before to",
            ),
            (
                json!({"search": [{"dateRange": []}, {"dateRange": []}]}),
                "more than one date range",
            ),
        ];
        for (body, expected) in cases {
            let error = criteria(body.clone()).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{body} gave {error:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn paging_reaches_exactly_the_result_window() {
        assert!(criteria(json!({"results": 100, "page": 99})).is_ok());
        assert!(criteria(json!({"results": 1000, "page": 9})).is_ok());
        assert_eq!(
            criteria(json!({"results": 1000, "page": 10})),
            Err(CriteriaError::PageTooDeep {
                page: 10,
                max: MAX_RESULT_WINDOW
            })
        );
        assert!(criteria(json!({"results": 10, "page": 4_294_967_295u64})).is_err());
    }

    #[test]
    fn term_count_and_length_are_bounded() {
        let many: Vec<Value> = (0..=MAX_TERMS)
            .map(|i| json!({"value": format!("t{i}")}))
            .collect();
        assert_eq!(
            criteria(json!({"search": many})),
            Err(CriteriaError::TooManyTerms { max: MAX_TERMS })
        );
        let long = "x".repeat(MAX_TERM_CHARS + 1);
        assert!(matches!(
            criteria(json!({"search": [{"value": long}]})),
            Err(CriteriaError::TermTooLong { index: 0, .. })
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                any::<f64>().prop_map(|n| json!(n)),
                ".*".prop_map(Value::String),
                "[0-9T:Z+.-]{0,30}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::hash_map(
                        prop_oneof![
                            Just("value".to_owned()),
                            Just("dateRange".to_owned()),
                            Just("field".to_owned()),
                            ".{0,6}"
                        ],
                        inner,
                        0..3
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn any_search_body_is_accepted_or_refused_with_a_typed_error(
                doc_type in prop::option::of(".{0,8}"),
                results in prop::option::of(any_json()),
                page in prop::option::of(any_json()),
                search in prop::collection::vec(any_json(), 0..6),
            ) {
                let request = SearchRequest { doc_type, results, page, search };
                if let Ok(criteria) = SearchCriteria::try_from(&request) {
                    prop_assert!(criteria.page.size >= 1 && criteria.page.size <= MAX_PAGE_SIZE);
                    prop_assert!(criteria.page.offset() + u64::from(criteria.page.size) <= MAX_RESULT_WINDOW);
                    prop_assert!(criteria.query.terms.iter().all(|t| !t.trim().is_empty()));
                    if let (Some(from), Some(to)) = (criteria.query.date_range.from, criteria.query.date_range.to) {
                        prop_assert!(from < to);
                    }
                }
            }

            #[test]
            fn any_json_text_as_a_search_body_never_panics(text in ".{0,200}") {
                if let Ok(request) = serde_json::from_str::<SearchRequest>(&text) {
                    let _ = SearchCriteria::try_from(&request);
                }
            }
        }
    }
}
