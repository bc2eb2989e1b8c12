//! New posts: the `POST /posts` body, the rules a post's text and tags must meet, and the
//! [`PostStore`] that makes a new post searchable.
//!
//! The wire shape is the one the existing frontend sends: `{"Post": "text", "Tags": ["#a"]}`.
//! Nothing else may be sent: a post's author is always the signed-in caller, its id and date are
//! chosen by the server, so a body naming `UserID` (or any other field) is refused, not obeyed.
//!
//! Tags are normalised the way search already treats them. Search matches a tag whatever its case
//! and with or without its `#` (both backends lower-case words and drop punctuation), so `#Cats`,
//! `cats` and `#cats` are one tag to it; a new post stores that tag once, as `#cats`: surrounding
//! spaces and leading `#`s are trimmed, the word is lower-cased (Unicode lower case, as the
//! analysers do), one `#` is put in front, empty tags are dropped and a tag given twice is kept
//! once (the first time it comes). Storing one spelling also lets the trending-tags report, which
//! counts tags exactly as written, count them together. A tag is one word: one holding spaces or
//! control characters is refused rather than silently split.

use crate::index::IndexError;
use crate::post::{Post, UserId};
use crate::stats::MAX_COUNTED_TAG_CHARS;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::fmt;

/// Longest post text, in characters (Unicode scalar values).
pub const MAX_POST_CHARS: usize = 2_000;
/// Most tags one post may carry, counted after normalising (empty and repeated tags do not
/// count).
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters, its `#` included.
pub const MAX_TAG_CHARS: usize = 64;

// Every tag a post may carry is counted by the trending-tags report.
const _: () = assert!(MAX_TAG_CHARS <= MAX_COUNTED_TAG_CHARS);

/// The `POST /posts` body exactly as received; [`NewPost::try_from`] validates it. Any field
/// but these two is refused when the body is decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostRequest {
    /// The text.
    #[serde(rename = "Post")]
    pub post: String,
    /// The tags as typed (`null` or absent: none).
    #[serde(rename = "Tags", default)]
    pub tags: Option<Vec<String>>,
}

/// A post's text and normalised tags, within the limits; the server adds the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    pub content: String,
    pub tags: Vec<String>,
}

/// Why a new post was refused; the message is meant for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    #[error("\"Post\" must not be empty")]
    EmptyText,
    #[error("\"Post\" is {chars} characters long; the limit is {MAX_POST_CHARS}")]
    TextTooLong { chars: usize },
    #[error("Tags[{index}] must be one word, without spaces or control characters")]
    TagNotOneWord { index: usize },
    #[error("Tags[{index}] is {chars} characters long with its #; the limit is {MAX_TAG_CHARS}")]
    TagTooLong { index: usize, chars: usize },
    #[error("a post may carry at most {MAX_TAGS} different tags, not {count}")]
    TooManyTags { count: usize },
}

impl PostError {
    /// Whether the post is refused for going past a limit (text length, number or length of
    /// tags) rather than for being malformed.
    pub fn is_over_limit(&self) -> bool {
        matches!(
            self,
            PostError::TextTooLong { .. }
                | PostError::TagTooLong { .. }
                | PostError::TooManyTags { .. }
        )
    }
}

impl TryFrom<PostRequest> for NewPost {
    type Error = PostError;

    fn try_from(request: PostRequest) -> Result<Self, Self::Error> {
        if request.post.trim().is_empty() {
            return Err(PostError::EmptyText);
        }
        let chars = request.post.chars().count();
        if chars > MAX_POST_CHARS {
            return Err(PostError::TextTooLong { chars });
        }
        let mut tags: Vec<String> = Vec::new();
        for (index, raw) in request.tags.unwrap_or_default().iter().enumerate() {
            let Some(tag) = normalise_tag(raw, index)? else {
                continue;
            };
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(PostError::TooManyTags { count: tags.len() });
        }
        Ok(NewPost {
            content: request.post,
            tags,
        })
    }
}

/// `Tags[index]` as stored (`#` and the lower-cased word), or `None` for an empty tag.
fn normalise_tag(raw: &str, index: usize) -> Result<Option<String>, PostError> {
    let word = raw.trim().trim_start_matches('#');
    if word.is_empty() {
        return Ok(None);
    }
    if word.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PostError::TagNotOneWord { index });
    }
    let tag = format!("#{}", word.to_lowercase());
    let chars = tag.chars().count();
    if chars > MAX_TAG_CHARS {
        return Err(PostError::TagTooLong { index, chars });
    }
    Ok(Some(tag))
}

impl NewPost {
    /// The post as stored: under `id`, by `author`, created at `at` (kept to the millisecond,
    /// the precision Elasticsearch's `date` fields keep, so both backends return what was
    /// stored).
    pub fn into_post(self, id: String, author: UserId, at: DateTime<Utc>) -> Post {
        let millis = at.timestamp_millis();
        Post {
            id,
            user_id: author,
            date_created: DateTime::from_timestamp_millis(millis).unwrap_or(at),
            content: self.content,
            tags: self.tags,
        }
    }
}

/// Where new posts go: the posts index, written to. Implementations: the embedded tantivy index
/// (committed and its reader reloaded before `put` returns) and Elasticsearch (indexed with
/// `refresh=wait_for`).
///
/// A trait of its own rather than a method of [`SearchIndex`](crate::SearchIndex): a function
/// takes only what it uses, as its credentials allow — search, exports and reports only read
/// (their OpenSearch user cannot write), the posts function only writes (its user cannot read) —
/// and the readers' wrappers and fakes need not grow a method they never call.
#[async_trait]
pub trait PostStore: Send + Sync + fmt::Debug {
    /// Stores `post` under its id, replacing any post with that id. Once it returns `Ok`, the
    /// post is in every search, scan and count started afterwards — `/search` totals, exports
    /// and reports see it at once. On error nothing may be assumed either way (a timeout may
    /// come after the write); storing the same post again is safe.
    async fn put(&self, post: &Post) -> Result<(), IndexError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(post: &str, tags: &[&str]) -> PostRequest {
        PostRequest {
            post: post.to_owned(),
            tags: Some(tags.iter().map(|tag| (*tag).to_owned()).collect()),
        }
    }

    fn tags_of(tags: &[&str]) -> Result<Vec<String>, PostError> {
        NewPost::try_from(request("hello", tags)).map(|post| post.tags)
    }

    #[test]
    fn tags_get_one_hash_lose_case_and_come_once() {
        assert_eq!(
            tags_of(&["#a", "b", " ##C ", "#A", "", "  ", "#", "Café", "#b"]).unwrap(),
            ["#a", "#b", "#c", "#café"]
        );
        assert_eq!(
            tags_of(&["#Ünïcödé", "#東京", "#rock,roll"]).unwrap(),
            ["#ünïcödé", "#東京", "#rock,roll"]
        );
    }

    #[test]
    fn no_tags_or_null_tags_are_none() {
        assert_eq!(tags_of(&[]).unwrap(), Vec::<String>::new());
        let null: PostRequest = serde_json::from_str(r#"{"Post": "hi", "Tags": null}"#).unwrap();
        let absent: PostRequest = serde_json::from_str(r#"{"Post": "hi"}"#).unwrap();
        for request in [null, absent] {
            assert!(NewPost::try_from(request).unwrap().tags.is_empty());
        }
    }

    #[test]
    fn a_tag_is_one_word() {
        for bad in ["#two words", "#tab\there", "#line\nbreak", "#nul\u{0}"] {
            assert_eq!(
                tags_of(&["#ok", bad]),
                Err(PostError::TagNotOneWord { index: 1 }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_text_is_kept_as_written_and_must_say_something() {
        let text = "  Two cats, one box,\n\"who fits?\" — 🧵 ";
        assert_eq!(NewPost::try_from(request(text, &[])).unwrap().content, text);
        for empty in ["", "   ", "\n\t"] {
            assert_eq!(
                NewPost::try_from(request(empty, &[])),
                Err(PostError::EmptyText)
            );
        }
    }

    #[test]
    fn limits_count_characters_and_different_tags() {
        let longest = "é".repeat(MAX_POST_CHARS);
        assert!(NewPost::try_from(request(&longest, &[])).is_ok());
        let error = NewPost::try_from(request(&format!("{longest}x"), &[])).unwrap_err();
        assert_eq!(
            error,
            PostError::TextTooLong {
                chars: MAX_POST_CHARS + 1
            }
        );
        assert!(error.is_over_limit());

        let longest_tag = format!("#{}", "ö".repeat(MAX_TAG_CHARS - 1));
        assert_eq!(
            tags_of(&[longest_tag.as_str()]).unwrap(),
            std::slice::from_ref(&longest_tag)
        );
        let too_long = format!("{longest_tag}x");
        let error = tags_of(&["#a", too_long.as_str()]).unwrap_err();
        assert_eq!(
            error,
            PostError::TagTooLong {
                index: 1,
                chars: MAX_TAG_CHARS + 1
            }
        );
        assert!(error.is_over_limit());

        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("#t{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(tags_of(&many[..MAX_TAGS]).unwrap().len(), MAX_TAGS);
        let repeated: Vec<&str> = many[..MAX_TAGS].iter().chain(&many[..5]).copied().collect();
        assert_eq!(
            tags_of(&repeated).unwrap().len(),
            MAX_TAGS,
            "repeats do not count"
        );
        let error = tags_of(&many).unwrap_err();
        assert_eq!(
            error,
            PostError::TooManyTags {
                count: MAX_TAGS + 1
            }
        );
        assert!(error.is_over_limit());
        assert!(!PostError::EmptyText.is_over_limit());
    }

    #[test]
    fn only_post_and_tags_may_be_sent() {
        for body in [
            r#"{"Post": "hi", "Tags": [], "UserID": "someone-else"}"#,
            r#"{"Post": "hi", "UserID": 7}"#,
            r#"{"Post": "hi", "DateCreated": "2019-07-21T00:00:00Z"}"#,
            r#"{"Post": "hi", "uuid": "mine"}"#,
        ] {
            let error = serde_json::from_str::<PostRequest>(body).unwrap_err();
            assert!(
                error.to_string().starts_with("unknown field"),
                "{body}: {error}"
            );
        }
        assert!(serde_json::from_str::<PostRequest>(r##"{"Tags": ["#a"]}"##).is_err());
    }

    #[test]
    fn the_stored_post_has_the_given_id_author_and_millisecond_date() {
        let at: DateTime<Utc> = "2026-03-01T10:20:30.123456789Z".parse().unwrap();
        let post = NewPost::try_from(request("hi", &["#A"]))
            .unwrap()
            .into_post("p-1".into(), UserId::Text("sub-1".into()), at);
        assert_eq!(
            post,
            Post {
                id: "p-1".into(),
                user_id: UserId::Text("sub-1".into()),
                date_created: "2026-03-01T10:20:30.123Z".parse().unwrap(),
                content: "hi".into(),
                tags: vec!["#a".into()],
            }
        );
    }
}
