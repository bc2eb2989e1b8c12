//! Elasticsearch `_bulk` NDJSON files: one action line and one `_source` line per post. Written
//! for `curl --data-binary @posts.ndjson …/_bulk` and for the embedded index, and read back.

use sde_core::Post;
use sde_core::post::PostSource;
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, BufWriter, Write};

/// Writes posts as Elasticsearch `_bulk` NDJSON:
/// `{"index":{"_index":"<index_name>","_id":"<id>"}}\n{<PostSource>}\n` per post.
/// JSON escaping keeps every post on its two lines whatever its content. Returns posts written.
pub fn write_bulk<W: Write>(
    posts: impl Iterator<Item = Post>,
    index_name: &str,
    out: W,
) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(256 * 1024, out);
    let mut written = 0;
    for post in posts {
        append_entry(&mut out, index_name, post)?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

/// Appends one post's action and source lines.
pub(crate) fn append_entry<W: Write>(out: &mut W, index_name: &str, post: Post) -> io::Result<()> {
    let (id, source) = post.into_source();
    let action = ActionOut {
        index: MetaOut {
            index: index_name,
            id: &id,
        },
    };
    serde_json::to_writer(&mut *out, &action)?;
    out.write_all(b"\n")?;
    serde_json::to_writer(&mut *out, &source)?;
    out.write_all(b"\n")
}

#[derive(Serialize)]
struct ActionOut<'a> {
    index: MetaOut<'a>,
}

#[derive(Serialize)]
struct MetaOut<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id")]
    id: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum ActionIn {
    Index(MetaIn),
    Create(MetaIn),
}

#[derive(Deserialize)]
struct MetaIn {
    #[serde(rename = "_id", default)]
    id: Option<String>,
}

/// Why a `_bulk` file could not be read; every variant names the 1-based line.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// The file could not be read (including invalid UTF-8).
    #[error("line {line}: could not read the bulk file")]
    Read {
        line: u64,
        #[source]
        source: io::Error,
    },
    /// An action line that is not `{"index":{…}}` or `{"create":{…}}`.
    #[error("line {line}: expected an \"index\" or \"create\" action")]
    Action {
        line: u64,
        #[source]
        source: serde_json::Error,
    },
    /// A document line that is not a post `_source`.
    #[error("line {line}: invalid post document")]
    Document {
        line: u64,
        #[source]
        source: serde_json::Error,
    },
    /// The file ended after an action line.
    #[error("line {line}: the action has no document line after it")]
    MissingDocument { line: u64 },
}

impl BulkError {
    /// The 1-based line the error is about.
    pub fn line(&self) -> u64 {
        match self {
            BulkError::Read { line, .. }
            | BulkError::Action { line, .. }
            | BulkError::Document { line, .. }
            | BulkError::MissingDocument { line } => *line,
        }
    }
}

/// Reads a `_bulk` NDJSON file back into posts. Accepts `index` and `create` actions; `_index`
/// and other metadata are ignored; a missing `_id` becomes `line-<n>` (the action's line number),
/// so the same file always yields the same ids. Blank lines are skipped. The iterator ends after
/// the first error.
pub fn read_bulk<R: BufRead>(input: R) -> BulkReader<R> {
    BulkReader {
        input,
        buf: String::new(),
        line: 0,
        done: false,
    }
}

/// The iterator returned by [`read_bulk`].
#[derive(Debug)]
pub struct BulkReader<R> {
    input: R,
    buf: String,
    line: u64,
    done: bool,
}

impl<R: BufRead> BulkReader<R> {
    /// Reads the next non-blank line into `buf`; `Ok(false)` at the end of the input.
    fn next_line(&mut self) -> Result<bool, BulkError> {
        loop {
            self.buf.clear();
            self.line += 1;
            let read = self
                .input
                .read_line(&mut self.buf)
                .map_err(|source| BulkError::Read {
                    line: self.line,
                    source,
                })?;
            if read == 0 {
                return Ok(false);
            }
            if !self.buf.trim().is_empty() {
                return Ok(true);
            }
        }
    }

    fn read_post(&mut self) -> Result<Option<Post>, BulkError> {
        if !self.next_line()? {
            return Ok(None);
        }
        let action_line = self.line;
        let action: ActionIn =
            serde_json::from_str(&self.buf).map_err(|source| BulkError::Action {
                line: action_line,
                source,
            })?;
        let (ActionIn::Index(meta) | ActionIn::Create(meta)) = action;
        if !self.next_line()? {
            return Err(BulkError::MissingDocument { line: action_line });
        }
        let source: PostSource =
            serde_json::from_str(&self.buf).map_err(|source| BulkError::Document {
                line: self.line,
                source,
            })?;
        let id = meta.id.unwrap_or_else(|| format!("line-{action_line}"));
        Ok(Some(Post::from_source(id, source)))
    }
}

impl<R: BufRead> Iterator for BulkReader<R> {
    type Item = Result<Post, BulkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let result = self.read_post().transpose();
        if !matches!(result, Some(Ok(_))) {
            self.done = true;
        }
        result
    }
}

impl<R: BufRead> std::iter::FusedIterator for BulkReader<R> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GeneratorConfig, PostGenerator};
    use sde_core::UserId;

    fn post(id: &str, content: &str, tags: &[&str]) -> Post {
        Post {
            id: id.into(),
            user_id: UserId::Int(7),
            date_created: "2019-07-21T10:00:00.123Z".parse().unwrap(),
            content: content.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn written(posts: Vec<Post>) -> String {
        let mut out = Vec::new();
        write_bulk(posts.into_iter(), "posts", &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn read_all(text: &str) -> Vec<Result<Post, BulkError>> {
        read_bulk(text.as_bytes()).collect()
    }

    #[test]
    fn each_post_becomes_an_action_line_and_a_source_line() {
        let text = written(vec![post("p1", "Hello.", &["#a"])]);
        assert_eq!(
            text,
            "{\"index\":{\"_index\":\"posts\",\"_id\":\"p1\"}}\n\
             {\"UserID\":7,\"DateCreated\":\"2019-07-21T10:00:00.123Z\",\"Content\":\"Hello.\",\"Tags\":[\"#a\"]}\n"
        );
    }

    #[test]
    fn generated_posts_round_trip_exactly() {
        let posts: Vec<Post> = PostGenerator::new(GeneratorConfig::default())
            .take(10_000)
            .collect();
        let text = written(posts.clone());
        assert_eq!(text.lines().count(), 2 * posts.len());
        let back: Vec<Post> = read_bulk(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, posts);
    }

    #[test]
    fn every_edge_case_round_trips_exactly() {
        let nasty = [
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+1 555 0100",
            "-bad",
            "@channel",
            "\t=1+2",
            "a, b, \"c\"",
            "line one\r\nline two\nline three\r",
            "Café 東京 שלום مرحبا",
            "🎉👨‍👩‍👧🇯🇵",
            "line\u{2028}separator and nul \u{0} and bell \u{7}",
            "back\\slash \\\" and {\"json\": [1]}",
            "",
        ];
        let posts: Vec<Post> = nasty
            .iter()
            .enumerate()
            .map(|(i, c)| {
                post(
                    &format!("id \"{i}\", ☃"),
                    c,
                    &["#rock,roll", "#東京", "#say\"hi\""],
                )
            })
            .chain([Post {
                user_id: UserId::Text("5f0c1d9e-2b7a-4c1e-9d3f-0a1b2c3d4e5f".into()),
                ..post("sub", "x", &[])
            }])
            .collect();
        let text = written(posts.clone());
        assert_eq!(text.lines().count(), 2 * posts.len(), "no raw line breaks");
        let back: Vec<Post> = read_bulk(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, posts);
    }

    #[test]
    fn create_actions_missing_ids_and_blank_lines_are_accepted() {
        let text = "\n{\"create\":{\"_index\":\"other\"}}\n\
                    {\"UserID\":\"abc\",\"DateCreated\":\"2019-07-21T10:00:00Z\",\"Content\":\"x\"}\n\
                    \r\n{\"index\":{\"_id\":\"given\"}}\n\
                    {\"UserID\":1,\"DateCreated\":\"2019-07-21T10:00:00Z\",\"Content\":\"y\",\"Tags\":[]}\n";
        let posts: Vec<Post> = read_all(text)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[0].id, "line-2");
        assert_eq!(posts[0].user_id, UserId::Text("abc".into()));
        assert!(posts[0].tags.is_empty());
        assert_eq!(posts[1].id, "given");
    }

    #[test]
    fn a_bad_document_names_its_line_and_ends_the_stream() {
        let good = written(vec![post("p1", "ok", &[])]);
        let text =
            format!("{good}{{\"index\":{{}}}}\n{{\"UserID\":1,\"Content\":\"no date\"}}\n{good}");
        let results = read_all(&text);
        assert_eq!(results.len(), 2, "stops after the first error");
        assert!(results[0].is_ok());
        let err = results[1].as_ref().unwrap_err();
        assert!(
            matches!(err, BulkError::Document { line: 4, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("line 4"), "{err}");
        let cause = std::error::Error::source(err).unwrap().to_string();
        assert!(cause.contains("DateCreated"), "{cause}");
    }

    #[test]
    fn an_unsupported_action_names_its_line() {
        let text = "{\"delete\":{\"_id\":\"p1\"}}\n";
        let err = read_all(text).remove(0).unwrap_err();
        assert_eq!(err.line(), 1);
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(matches!(err, BulkError::Action { .. }));
    }

    #[test]
    fn malformed_json_names_its_line() {
        let good = written(vec![post("p1", "ok", &[])]);
        let err = read_all(&format!("{good}{{not json\n"))
            .remove(1)
            .unwrap_err();
        assert_eq!(err.line(), 3);
        assert!(matches!(err, BulkError::Action { .. }));
    }

    #[test]
    fn an_action_without_a_document_names_the_action_line() {
        let good = written(vec![post("p1", "ok", &[])]);
        let err = read_all(&format!("{good}{{\"index\":{{}}}}\n\n"))
            .remove(1)
            .unwrap_err();
        assert!(
            matches!(err, BulkError::MissingDocument { line: 3 }),
            "{err:?}"
        );
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let mut bytes = written(vec![post("p1", "ok", &[])]).into_bytes();
        bytes.extend_from_slice(b"{\"index\":{}}\n\xff\xfe\n");
        let err = read_bulk(&bytes[..]).nth(1).unwrap().unwrap_err();
        assert!(matches!(err, BulkError::Read { line: 4, .. }), "{err:?}");
    }
}
