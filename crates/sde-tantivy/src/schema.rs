//! The `posts` schema: which tantivy field holds what, how text is analysed, and the conversion of
//! a [`Post`] to a tantivy document and back.
//!
//! | field          | tantivy type                          | why                                        |
//! |----------------|---------------------------------------|--------------------------------------------|
//! | `id`           | raw string, indexed, stored           | delete-by-term when a post is replaced     |
//! | `user_id_int`  | i64, stored                           | `UserID` given as a number                 |
//! | `user_id_text` | string, stored only                   | `UserID` given as a string (Cognito `sub`) |
//! | `DateCreated`  | date, indexed, fast (ns), stored      | range filter on the fast column            |
//! | `Content`      | text ([`ANALYZER_NAME`]), stored      | full text                                  |
//! | `Tags`         | text ([`ANALYZER_NAME`]), multi-valued, stored | full text, boosted at query time  |
//!
//! `DateCreated` keeps nanosecond precision in the doc store and in the fast column the range
//! filter reads, so a post round-trips exactly and range ends are exact. (The inverted index of a
//! date is always truncated to seconds by tantivy; it is not used for filtering.) Dates must lie
//! between the years 1677 and 2262, the range of `i64` nanoseconds.

use chrono::{DateTime, Utc};
use sde_core::{IndexError, IndexErrorKind, Post, UserId};
use tantivy::schema::document::{DeserializeError, DocumentDeserialize, DocumentDeserializer};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, INDEXED, IndexRecordOption, OwnedValue, STORED, STRING,
    Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenizerManager,
};
use tantivy::{TantivyDocument, Term};

/// Name under which the text analyser of `Content` and `Tags` is registered: split on anything
/// that is not a Unicode letter or digit, drop tokens longer than [`MAX_TOKEN_BYTES`], lowercase.
/// `#cats` indexes as `cats`, `Ünïcode` as `ünïcode`.
pub const ANALYZER_NAME: &str = "sde_text";

/// Longest token kept, in bytes; Elasticsearch's standard tokenizer splits at 255 characters, we
/// drop such tokens instead (the same on both the index and the query side, so they never match).
const MAX_TOKEN_BYTES: usize = 255;

/// The analyser used for `Content` and `Tags`, at index time and at query time.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        // `limit(n)` keeps tokens shorter than `n` bytes.
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES + 1))
        .filter(LowerCaser)
        .build()
}

/// The tokenizers an index of posts needs; tantivy does not persist them, so every open
/// registers them again.
pub(crate) fn tokenizers() -> TokenizerManager {
    let manager = TokenizerManager::default();
    manager.register(ANALYZER_NAME, text_analyzer());
    manager
}

/// The fields of the `posts` schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PostFields {
    pub id: Field,
    pub user_id_int: Field,
    pub user_id_text: Field,
    pub date_created: Field,
    pub content: Field,
    pub tags: Field,
}

impl PostFields {
    /// Builds the schema and remembers its fields.
    pub fn schema() -> (Schema, PostFields) {
        let mut builder = Schema::builder();
        // Positions are not needed: there are no phrase queries, only term matches.
        let text = TextOptions::default().set_stored().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER_NAME)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = PostFields {
            id: builder.add_text_field("id", STRING | STORED),
            user_id_int: builder.add_i64_field("user_id_int", STORED),
            user_id_text: builder.add_text_field("user_id_text", STORED),
            date_created: builder.add_date_field(
                "DateCreated",
                DateOptions::from(INDEXED)
                    .set_stored()
                    .set_fast()
                    .set_precision(DateTimePrecision::Nanoseconds),
            ),
            content: builder.add_text_field("Content", text.clone()),
            tags: builder.add_text_field("Tags", text),
        };
        (builder.build(), fields)
    }

    /// Looks the fields up in the schema of an opened index.
    pub fn from_schema(schema: &Schema) -> Result<PostFields, IndexError> {
        let field = |name: &str| {
            schema.get_field(name).map_err(|error| {
                IndexError::new(IndexErrorKind::Corrupt, format!("finding field {name}"))
                    .with_source(error)
            })
        };
        Ok(PostFields {
            id: field("id")?,
            user_id_int: field("user_id_int")?,
            user_id_text: field("user_id_text")?,
            date_created: field("DateCreated")?,
            content: field("Content")?,
            tags: field("Tags")?,
        })
    }

    /// The term that identifies the post `id`, for deleting its previous version.
    pub fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.id, id)
    }

    /// The tantivy document of `post`; fails if its date is outside the representable range.
    pub fn document(&self, post: &Post) -> Result<TantivyDocument, IndexError> {
        let mut doc = TantivyDocument::new();
        doc.add_text(self.id, &post.id);
        match &post.user_id {
            UserId::Int(n) => doc.add_i64(self.user_id_int, *n),
            UserId::Text(s) => doc.add_text(self.user_id_text, s),
        }
        doc.add_date(
            self.date_created,
            to_tantivy_date(post.date_created, &post.id)?,
        );
        doc.add_text(self.content, &post.content);
        for tag in &post.tags {
            doc.add_text(self.tags, tag);
        }
        Ok(doc)
    }
}

/// Converts a timestamp to tantivy's nanosecond date.
pub(crate) fn to_tantivy_date(
    at: DateTime<Utc>,
    what: &str,
) -> Result<tantivy::DateTime, IndexError> {
    let nanos = at.timestamp_nanos_opt().ok_or_else(|| {
        IndexError::new(
            IndexErrorKind::Rejected,
            format!("converting date {at} of {what}: only years 1677 to 2262 can be indexed"),
        )
    })?;
    Ok(tantivy::DateTime::from_timestamp_nanos(nanos))
}

/// A post read back from the doc store, before checking it is complete.
///
/// Deserialising straight into this (rather than a `TantivyDocument`) saves one copy of every
/// value on the export path. Field ids are positional in tantivy's schema, so they are matched
/// against the ids [`PostFields::schema`] assigns.
#[derive(Debug, Default)]
pub(crate) struct StoredPost {
    id: Option<String>,
    user_id: Option<UserId>,
    date_created: Option<i64>,
    content: Option<String>,
    tags: Vec<String>,
}

/// Field ids in the order `PostFields::schema` adds them.
const ID: u32 = 0;
const USER_ID_INT: u32 = 1;
const USER_ID_TEXT: u32 = 2;
const DATE_CREATED: u32 = 3;
const CONTENT: u32 = 4;
const TAGS: u32 = 5;

impl DocumentDeserialize for StoredPost {
    fn deserialize<'de, D>(mut deserializer: D) -> Result<Self, DeserializeError>
    where
        D: DocumentDeserializer<'de>,
    {
        let mut post = StoredPost::default();
        while let Some((field, value)) = deserializer.next_field::<OwnedValue>()? {
            match (field.field_id(), value) {
                (ID, OwnedValue::Str(s)) => post.id = Some(s),
                (USER_ID_INT, OwnedValue::I64(n)) => post.user_id = Some(UserId::Int(n)),
                (USER_ID_TEXT, OwnedValue::Str(s)) => post.user_id = Some(UserId::Text(s)),
                (DATE_CREATED, OwnedValue::Date(at)) => {
                    post.date_created = Some(at.into_timestamp_nanos())
                }
                (CONTENT, OwnedValue::Str(s)) => post.content = Some(s),
                (TAGS, OwnedValue::Str(s)) => post.tags.push(s),
                (field, value) => {
                    return Err(DeserializeError::custom(format!(
                        "unexpected value {value:?} in field {field}"
                    )));
                }
            }
        }
        Ok(post)
    }
}

impl StoredPost {
    /// The post, or a `Corrupt` error naming what is missing.
    pub fn into_post(self) -> Result<Post, IndexError> {
        let StoredPost {
            id,
            user_id,
            date_created,
            content,
            tags,
        } = self;
        match (id, user_id, date_created) {
            (Some(id), Some(user_id), Some(nanos)) => Ok(Post {
                id,
                user_id,
                date_created: DateTime::from_timestamp_nanos(nanos),
                content: content.unwrap_or_default(),
                tags,
            }),
            (id, _, _) => Err(IndexError::new(
                IndexErrorKind::Corrupt,
                format!("reading stored post {id:?}: its id, UserID or DateCreated is missing"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::TokenStream;

    fn tokens(text: &str) -> Vec<String> {
        let mut analyzer = text_analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn the_field_ids_the_reader_expects_are_the_ones_the_schema_assigns() {
        let (_, fields) = PostFields::schema();
        let ids = [
            fields.id,
            fields.user_id_int,
            fields.user_id_text,
            fields.date_created,
            fields.content,
            fields.tags,
        ]
        .map(|field| field.field_id());
        assert_eq!(
            ids,
            [ID, USER_ID_INT, USER_ID_TEXT, DATE_CREATED, CONTENT, TAGS]
        );
    }

    #[test]
    fn the_analyzer_lowercases_and_splits_on_anything_but_letters_and_digits() {
        assert_eq!(tokens("#Cats, DOGS!"), ["cats", "dogs"]);
        assert_eq!(
            tokens("Ünïcode naïve café-au-lait 東京"),
            ["ünïcode", "naïve", "café", "au", "lait", "東京"]
        );
        assert!(tokens("!?-- ...").is_empty());
    }

    #[test]
    fn the_analyzer_drops_absurdly_long_tokens() {
        assert!(tokens(&"x".repeat(MAX_TOKEN_BYTES + 1)).is_empty());
        assert_eq!(tokens(&"x".repeat(MAX_TOKEN_BYTES)).len(), 1);
    }

    #[test]
    fn dates_outside_i64_nanoseconds_are_rejected_not_wrapped() {
        let far = "3000-01-01T00:00:00Z".parse().unwrap();
        let error = to_tantivy_date(far, "p1").unwrap_err();
        assert_eq!(error.kind, IndexErrorKind::Rejected);
    }
}
