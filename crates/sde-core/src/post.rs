//! A post as stored in the index and written to exports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The author of a post. Older posts carry a numeric id, newer ones a Cognito `sub`; both are kept
/// exactly as given so an export round-trips what was indexed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UserId {
    Int(i64),
    Text(String),
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserId::Int(n) => write!(f, "{n}"),
            UserId::Text(s) => f.write_str(s),
        }
    }
}

/// One post of the `posts` index. `id` is the document id (`uuid` on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    #[serde(rename = "uuid")]
    pub id: String,
    #[serde(rename = "UserID")]
    pub user_id: UserId,
    #[serde(rename = "DateCreated")]
    pub date_created: DateTime<Utc>,
    #[serde(rename = "Content")]
    pub content: String,
    #[serde(rename = "Tags", default)]
    pub tags: Vec<String>,
}

/// The document body of a post as Elasticsearch stores it in `_source` (the id lives beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostSource {
    #[serde(rename = "UserID")]
    pub user_id: UserId,
    #[serde(rename = "DateCreated")]
    pub date_created: DateTime<Utc>,
    #[serde(rename = "Content")]
    pub content: String,
    #[serde(rename = "Tags", default)]
    pub tags: Vec<String>,
}

impl Post {
    /// Joins a document id with its `_source`.
    pub fn from_source(id: String, source: PostSource) -> Self {
        Post {
            id,
            user_id: source.user_id,
            date_created: source.date_created,
            content: source.content,
            tags: source.tags,
        }
    }

    /// Splits a post into its document id and `_source`.
    pub fn into_source(self) -> (String, PostSource) {
        (
            self.id,
            PostSource {
                user_id: self.user_id,
                date_created: self.date_created,
                content: self.content,
                tags: self.tags,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_keeps_its_json_type() {
        let int: UserId = serde_json::from_str("7").unwrap();
        let text: UserId = serde_json::from_str("\"a1b2-c3\"").unwrap();
        assert_eq!(int, UserId::Int(7));
        assert_eq!(text, UserId::Text("a1b2-c3".into()));
        assert_eq!(serde_json::to_string(&int).unwrap(), "7");
        assert_eq!(serde_json::to_string(&text).unwrap(), "\"a1b2-c3\"");
    }

    #[test]
    fn post_serialises_with_the_wire_field_names() {
        let post = Post {
            id: "p1".into(),
            user_id: UserId::Int(3),
            date_created: "2019-07-21T10:00:00Z".parse().unwrap(),
            content: "hello".into(),
            tags: vec!["#a".into()],
        };
        let json = serde_json::to_value(&post).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"uuid": "p1", "UserID": 3, "DateCreated": "2019-07-21T10:00:00Z",
                               "Content": "hello", "Tags": ["#a"]})
        );
    }
}
