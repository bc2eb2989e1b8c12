//! Index names: the rules Elasticsearch and OpenSearch document for them, checked in one place
//! for the search configuration and the importer alike, so a typo fails at start-up rather than
//! on the first request.
//!
//! The documented rules (Elasticsearch reference, "Create index API", path parameters; the
//! OpenSearch "Create index" page says the same): lowercase only; none of `\ / * ? " < > | , #`
//! or a space; no `:` since 7.0; not starting with `-`, `_` or `+`; not `.` or `..`; at most
//! 255 bytes. Names starting with `.` are deprecated (hidden and system indices) but accepted.
//!
//! Two rules are ours: no `%`, because the name goes into request paths as written and `%`
//! there starts an escape; and no other whitespace or control characters, which no real index
//! name holds and which would break a request line.

/// Longest index name, in bytes.
pub const MAX_INDEX_NAME_BYTES: usize = 255;

/// Why a name cannot be an index name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not an index name: {rule}")]
pub struct IndexNameError {
    /// The name as given.
    pub name: String,
    /// The rule it breaks, in words.
    pub rule: &'static str,
}

/// Checks `name` against the rules above.
pub fn check_index_name(name: &str) -> Result<(), IndexNameError> {
    let broken = |rule| {
        Err(IndexNameError {
            name: name.to_owned(),
            rule,
        })
    };
    if name.is_empty() {
        return broken("it is empty");
    }
    if name.len() > MAX_INDEX_NAME_BYTES {
        return broken("it must be at most 255 bytes long");
    }
    if name == "." || name == ".." {
        return broken("it must not be . or ..");
    }
    if name.starts_with(['-', '_', '+']) {
        return broken("it must not start with -, _ or +");
    }
    if name.to_lowercase() != name {
        return broken("it must be lowercase");
    }
    if name.contains(['\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ' ']) {
        return broken("it must not contain \\ / * ? \" < > | , # or a space");
    }
    if name.contains(':') {
        return broken("it must not contain : (only indices made before Elasticsearch 7.0 could)");
    }
    if name.contains('%') {
        return broken("it must not contain % (it would start an escape in the request path)");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return broken("it must not contain whitespace or control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names and whether they are accepted, with the rule each one exercises. The rules are the
    /// documented ones quoted in the module docs, plus our two.
    const CASES: &[(&str, Option<&str>)] = &[
        // Accepted: lowercase letters, digits, `-`, `_`, `+`, `.` inside, non-ASCII lowercase.
        ("posts", None),
        ("posts-2019.07", None),
        ("my_index+v2", None),
        ("logs-000001", None),
        ("ünïcödé-posts", None),
        // "Names starting with . are deprecated" — deprecated, not refused.
        (".posts", None),
        // "Lowercase only".
        ("Posts", Some("lowercase")),
        ("POSTS", Some("lowercase")),
        ("Ünïcödé", Some("lowercase")),
        // "Cannot include \, /, *, ?, ", <, >, |, ` ` (space character), ,, #".
        ("a\\b", Some("must not contain \\")),
        ("a/b", Some("must not contain \\")),
        ("posts*", Some("must not contain \\")),
        ("posts?", Some("must not contain \\")),
        ("\"posts\"", Some("must not contain \\")),
        ("<posts-{now/d}>", Some("must not contain \\")),
        ("a|b", Some("must not contain \\")),
        ("a b", Some("must not contain \\")),
        ("posts,users", Some("must not contain \\")),
        ("x#y", Some("must not contain \\")),
        // "Indices prior to 7.0 could contain a colon (:) … won't be supported in 7.0+".
        ("cluster:posts", Some("must not contain :")),
        // "Cannot start with -, _, +".
        ("-posts", Some("must not start")),
        ("_posts", Some("must not start")),
        ("+posts", Some("must not start")),
        // "Cannot be . or ..".
        (".", Some("must not be . or ..")),
        ("..", Some("must not be . or ..")),
        // "Cannot be longer than 255 bytes (note it is bytes …)".
        ("", Some("empty")),
        // Ours: `%` starts an escape in the request path.
        ("100%", Some("must not contain %")),
        ("posts%2fusers", Some("must not contain %")),
        // Ours: other whitespace and control characters.
        ("a\tb", Some("whitespace or control")),
        ("a\nb", Some("whitespace or control")),
        ("a\u{7f}b", Some("whitespace or control")),
    ];

    #[test]
    fn index_names_follow_the_documented_rules() {
        for (name, refused_for) in CASES {
            match (check_index_name(name), refused_for) {
                (Ok(()), None) => {}
                (Err(error), Some(rule)) => {
                    assert!(
                        error.rule.contains(rule),
                        "{name:?}: {error}, expected {rule}"
                    );
                    assert!(error.to_string().starts_with(&format!("{name:?} is not")));
                }
                (outcome, expected) => {
                    panic!("{name:?}: got {outcome:?}, expected refusal for {expected:?}")
                }
            }
        }
    }

    #[test]
    fn the_length_limit_counts_bytes_not_characters() {
        assert_eq!(check_index_name(&"a".repeat(255)), Ok(()));
        assert!(check_index_name(&"a".repeat(256)).is_err());
        // 128 two-byte characters are 256 bytes.
        let error = check_index_name(&"é".repeat(128)).unwrap_err();
        assert!(error.rule.contains("255 bytes"), "{error}");
        assert_eq!(check_index_name(&"é".repeat(127)), Ok(()));
    }
}
