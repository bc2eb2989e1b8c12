//! The `posts` schema: which tantivy field holds what, how text is analysed, and the conversion of
//! a [`Post`] to a tantivy document and back.
//!
//! | field         | tantivy type                           | why                                      |
//! |---------------|----------------------------------------|------------------------------------------|
//! | `id`          | raw string, indexed                    | delete-by-term when a post is replaced   |
//! | `DateCreated` | date, indexed, fast (ns)               | range filter on the fast column          |
//! | `Content`     | text ([`ANALYZER_NAME`])               | full text                                |
//! | `Tags`        | text ([`ANALYZER_NAME`]), multi-valued | full text, boosted at query time         |
//! | `TagsKeyword` | raw string, fast only, multi-valued    | tag counts (a terms aggregation), like Elasticsearch's `Tags.keyword` |
//! | `post`        | string, stored only                    | the whole post, for pages and scans      |
//!
//! Only `post` is stored: the whole post as one record (see [`StoredPost`]), as Elasticsearch
//! keeps `_source`. Reading one value per post instead of one per field is what makes a scan
//! fast: tantivy allocates every stored value it reads.
//!
//! `DateCreated` keeps nanosecond precision in the record and in the fast column the range
//! filter reads, so a post round-trips exactly and range ends are exact. (The inverted index of a
//! date is always truncated to seconds by tantivy; it is not used for filtering.) Dates must lie
//! between the years 1677 and 2262, the range of `i64` nanoseconds.

use chrono::{DateTime, Utc};
use sde_core::{IndexError, IndexErrorKind, MAX_COUNTED_TAG_CHARS, Post, UserId};
use std::fmt::Write as _;
use tantivy::schema::document::{DeserializeError, DocumentDeserialize, DocumentDeserializer};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
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
    pub date_created: Field,
    pub content: Field,
    pub tags: Field,
    pub tags_keyword: Field,
    pub post: Field,
}

/// Name of the fast column of whole tags that tag counts aggregate over.
pub(crate) const TAGS_KEYWORD: &str = "TagsKeyword";

impl PostFields {
    /// Builds the schema and remembers its fields.
    pub fn schema() -> (Schema, PostFields) {
        let mut builder = Schema::builder();
        // Positions are not needed: there are no phrase queries, only term matches.
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER_NAME)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = PostFields {
            id: builder.add_text_field("id", STRING),
            date_created: builder.add_date_field(
                "DateCreated",
                DateOptions::from(INDEXED)
                    .set_fast()
                    .set_precision(DateTimePrecision::Nanoseconds),
            ),
            content: builder.add_text_field("Content", text.clone()),
            tags: builder.add_text_field("Tags", text),
            // Each tag whole, once per post: tantivy's terms aggregation counts a value once
            // per document anyway, and a fast column needs no inverted index.
            tags_keyword: builder
                .add_text_field(TAGS_KEYWORD, TextOptions::default().set_fast("raw")),
            post: builder.add_text_field("post", STORED),
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
            date_created: field("DateCreated")?,
            content: field("Content")?,
            tags: field("Tags")?,
            tags_keyword: field(TAGS_KEYWORD)?,
            post: field("post")?,
        })
    }

    /// The term that identifies the post `id`, for deleting its previous version.
    pub fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.id, id)
    }

    /// The tantivy document of `post`; fails if its date is outside the representable range.
    pub fn document(&self, post: &Post) -> Result<TantivyDocument, IndexError> {
        let date_created = to_tantivy_date(post.date_created, &post.id)?;
        let mut doc = TantivyDocument::new();
        doc.add_text(self.id, &post.id);
        doc.add_date(self.date_created, date_created);
        doc.add_text(self.content, &post.content);
        for tag in &post.tags {
            doc.add_text(self.tags, tag);
        }
        let mut counted: Vec<&str> = post
            .tags
            .iter()
            .map(String::as_str)
            .filter(|tag| tag.chars().count() <= MAX_COUNTED_TAG_CHARS)
            .collect();
        counted.sort_unstable();
        counted.dedup();
        for tag in counted {
            doc.add_text(self.tags_keyword, tag);
        }
        doc.add_text(self.post, StoredPost::record(post, date_created));
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

/// A post as the doc store keeps it: one text record in the `post` field.
///
/// ```text
/// record = text(id) user date text(Content) *text(tag)
/// user   = "#" decimal ";"      a numeric UserID
///        | text(UserID)         a UserID given as a string
/// date   = decimal ";"          DateCreated in nanoseconds since 1970, may be negative
/// text   = decimal ":" bytes    the length in bytes, then the UTF-8 text
/// ```
///
/// The lengths make any text safe to store, separators and all; the record is valid UTF-8, as a
/// tantivy text value must be, because everything in it is.
#[derive(Debug)]
pub(crate) struct StoredPost(String);

impl DocumentDeserialize for StoredPost {
    fn deserialize<'de, D>(mut deserializer: D) -> Result<Self, DeserializeError>
    where
        D: DocumentDeserializer<'de>,
    {
        // `post` is the only stored field.
        match deserializer.next_field::<String>()? {
            Some((_, record)) => Ok(StoredPost(record)),
            None => Err(DeserializeError::custom(
                "a document without its stored post",
            )),
        }
    }
}

impl StoredPost {
    /// The record of `post`, whose date has been checked to fit in `i64` nanoseconds.
    fn record(post: &Post, date_created: tantivy::DateTime) -> String {
        let mut record = String::with_capacity(post.id.len() + post.content.len() + 64);
        // Writing to a `String` cannot fail.
        let _ = write!(record, "{}:{}", post.id.len(), post.id);
        let _ = match &post.user_id {
            UserId::Int(n) => write!(record, "#{n};"),
            UserId::Text(user_id) => write!(record, "{}:{user_id}", user_id.len()),
        };
        let _ = write!(
            record,
            "{};{}:{}",
            date_created.into_timestamp_nanos(),
            post.content.len(),
            post.content
        );
        for tag in &post.tags {
            let _ = write!(record, "{}:{tag}", tag.len());
        }
        record
    }

    /// The post, or a `Corrupt` error if the record is damaged.
    pub fn into_post(self) -> Result<Post, IndexError> {
        let mut post = Post {
            id: String::new(),
            user_id: UserId::Int(0),
            date_created: DateTime::UNIX_EPOCH,
            content: String::new(),
            tags: Vec::new(),
        };
        self.overwrite(&mut post)?;
        Ok(post)
    }

    /// Overwrites `post` with this post, copying into the strings `post` already owns.
    ///
    /// A scan reuses the posts of the batches its caller is done with, so once their strings
    /// have grown, reading a post allocates nothing that outlives it; and no thread frees what
    /// another allocated (with glibc's per-thread arenas, malloc and free had been about 40 % of
    /// a match-all export).
    pub fn overwrite(&self, post: &mut Post) -> Result<(), IndexError> {
        let mut record = Record(&self.0);
        overwrite(&mut post.id, record.text()?);
        if record.0.starts_with('#') {
            record.0 = &record.0[1..];
            post.user_id = UserId::Int(record.number()?);
        } else {
            let user_id = record.text()?;
            match &mut post.user_id {
                UserId::Text(old) => overwrite(old, user_id),
                old => *old = UserId::Text(user_id.to_owned()),
            }
        }
        post.date_created = DateTime::from_timestamp_nanos(record.number()?);
        overwrite(&mut post.content, record.text()?);
        let mut tags = 0;
        while !record.0.is_empty() {
            let tag = record.text()?;
            match post.tags.get_mut(tags) {
                Some(old) => overwrite(old, tag),
                None => post.tags.push(tag.to_owned()),
            }
            tags += 1;
        }
        post.tags.truncate(tags);
        Ok(())
    }
}

fn overwrite(old: &mut String, new: &str) {
    old.clear();
    old.push_str(new);
}

/// The unread rest of a stored record.
struct Record<'a>(&'a str);

impl<'a> Record<'a> {
    /// The digits before the next `end`, as a number; the record goes on after `end`.
    fn digits_until(&mut self, end: u8) -> Result<u64, IndexError> {
        let mut value = 0u64;
        for (i, &byte) in self.0.as_bytes().iter().enumerate() {
            if byte.is_ascii_digit() {
                value = value
                    .checked_mul(10)
                    .and_then(|value| value.checked_add(u64::from(byte - b'0')))
                    .ok_or_else(|| corrupt("a number out of range"))?;
            } else if byte == end && i > 0 {
                // `end` is ASCII, so the record goes on at a character boundary.
                self.0 = &self.0[i + 1..];
                return Ok(value);
            } else {
                return Err(corrupt(format!("a number not ended by '{}'", end as char)));
            }
        }
        Err(corrupt("a record that stops in a number"))
    }

    fn number(&mut self) -> Result<i64, IndexError> {
        let negative = self.0.starts_with('-');
        if negative {
            self.0 = &self.0[1..];
        }
        let magnitude = i128::from(self.digits_until(b';')?);
        i64::try_from(if negative { -magnitude } else { magnitude })
            .map_err(|_| corrupt("a number out of range"))
    }

    fn text(&mut self) -> Result<&'a str, IndexError> {
        let length = usize::try_from(self.digits_until(b':')?)
            .map_err(|_| corrupt("a text too long for this machine"))?;
        let text = self
            .0
            .get(..length)
            .ok_or_else(|| corrupt("a text longer than the record or cut in a character"))?;
        self.0 = &self.0[length..];
        Ok(text)
    }
}

fn corrupt(what: impl std::fmt::Display) -> IndexError {
    IndexError::new(
        IndexErrorKind::Corrupt,
        format!("reading a stored post: {what}"),
    )
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

    fn post(id: &str, user_id: UserId, content: &str, tags: &[&str]) -> Post {
        Post {
            id: id.into(),
            user_id,
            date_created: "2019-07-21T10:11:12.123456789Z".parse().unwrap(),
            content: content.into(),
            tags: tags.iter().map(|&tag| tag.into()).collect(),
        }
    }

    fn stored(post: &Post) -> StoredPost {
        StoredPost(StoredPost::record(
            post,
            to_tantivy_date(post.date_created, &post.id).unwrap(),
        ))
    }

    #[test]
    fn a_reused_post_of_any_shape_is_overwritten_with_exactly_the_stored_post() {
        let posts = [
            post("a", UserId::Int(7), "long content", &["#x", "#yy", "#zzz"]),
            post("bb", UserId::Text("sub-1".into()), "", &[]),
            post(
                "c:1;",
                UserId::Text("#9;".into()),
                "ü 12:x;",
                &["#only", ""],
            ),
            post("dddd", UserId::Int(-1), "x\n\"y\"", &["#p", "#q"]),
            Post {
                date_created: "1900-01-01T00:00:00Z".parse().unwrap(),
                ..post("", UserId::Text(String::new()), "", &[])
            },
        ];
        for old in &posts {
            for new in &posts {
                let mut reused = stored(old).into_post().unwrap();
                stored(new).overwrite(&mut reused).unwrap();
                assert_eq!(&reused, new);
            }
        }
    }

    #[test]
    fn damaged_records_are_corrupt_errors_not_panics() {
        let whole = stored(&post("a", UserId::Text("u".into()), "té:xt", &["#t"])).0;
        let extremes = post("a", UserId::Int(i64::MIN), "", &[]);
        assert_eq!(stored(&extremes).into_post().unwrap(), extremes);
        let mut damaged: Vec<String> = (0..whole.len())
            .filter_map(|cut| whole.get(..cut))
            // A record cut just before a tag is a whole record with fewer tags.
            .filter(|cut| !whole[cut.len()..].starts_with("2:#t"))
            .map(str::to_owned)
            .collect();
        damaged.extend(
            [
                "1:a#x;0;",
                "1:a#1;x;",
                "1:a#1;0;9:short",
                "1:a#1;0;3:é",
                "x:a#1;0;",
                "1:a#;0;0:",
                "1:a#-;0;0:",
                "1:a#9223372036854775808;0;0:",
                "1:a#1;99999999999999999999;0:",
            ]
            .map(String::from),
        );
        for record in damaged {
            let error = StoredPost(record.clone()).into_post().unwrap_err();
            assert_eq!(error.kind, IndexErrorKind::Corrupt, "{record:?}");
        }
    }

    #[test]
    fn dates_outside_i64_nanoseconds_are_rejected_not_wrapped() {
        let far = "3000-01-01T00:00:00Z".parse().unwrap();
        let error = to_tantivy_date(far, "p1").unwrap_err();
        assert_eq!(error.kind, IndexErrorKind::Rejected);
    }
}
