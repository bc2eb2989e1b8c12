//! JSONPath subset used by Amazon States Language: paths (`$.a.b`, `$['a'][0]`, `$.a[*]`) over
//! the state input or the context object (`$$`), and reference paths that `ResultPath` writes to.

use serde_json::{Map, Value};

/// Which document a path reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Field(String),
    Index(usize),
    Wildcard,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    pub(crate) root: Root,
    pub(crate) segments: Vec<Segment>,
    pub(crate) text: String,
}

impl Path {
    /// Parses `$…` or `$$…`; the error explains what is wrong or unsupported.
    pub(crate) fn parse(text: &str) -> Result<Path, String> {
        let (root, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (Root::Context, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (Root::Input, rest)
        } else {
            return Err(format!("\"{text}\" is not a path (paths start with $)"));
        };
        let chars: Vec<char> = rest.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    if chars.get(i) == Some(&'.') {
                        return Err(format!("path \"{text}\": deep scan (..) is not supported"));
                    }
                    if chars.get(i) == Some(&'*') {
                        segments.push(Segment::Wildcard);
                        i += 1;
                        continue;
                    }
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    if start == i {
                        return Err(format!("path \"{text}\": empty field name"));
                    }
                    segments.push(Segment::Field(chars[start..i].iter().collect()));
                }
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| format!("path \"{text}\": unclosed ["))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    if inner == "*" {
                        segments.push(Segment::Wildcard);
                    } else if let Some(name) = quoted(inner) {
                        segments.push(Segment::Field(name));
                    } else if let Ok(index) = inner.parse::<usize>() {
                        segments.push(Segment::Index(index));
                    } else {
                        return Err(format!(
                            "path \"{text}\": selector [{inner}] is not supported (use a field, an index or *)"
                        ));
                    }
                    i = close + 1;
                }
                other => {
                    return Err(format!("path \"{text}\": unexpected character '{other}'"));
                }
            }
        }
        Ok(Path {
            root,
            segments,
            text: text.to_owned(),
        })
    }

    /// Parses a reference path: a path over the input that names a single node.
    pub(crate) fn parse_reference(text: &str) -> Result<Path, String> {
        let path = Path::parse(text)?;
        if path.root == Root::Context {
            return Err(format!(
                "\"{text}\" must be a reference path into the input, not the context object"
            ));
        }
        if !path.is_definite() {
            return Err(format!(
                "\"{text}\" must be a reference path (no wildcards)"
            ));
        }
        Ok(path)
    }

    /// True when the path selects at most one node.
    pub(crate) fn is_definite(&self) -> bool {
        !self.segments.contains(&Segment::Wildcard)
    }

    /// Selects from the input or the context object. A definite path yields the node or
    /// `None`; a path with wildcards yields the array of all matches.
    pub(crate) fn select(&self, input: &Value, context: &Value) -> Option<Value> {
        let doc = match self.root {
            Root::Input => input,
            Root::Context => context,
        };
        if self.is_definite() {
            let mut node = doc;
            for segment in &self.segments {
                node = match segment {
                    Segment::Field(name) => node.as_object()?.get(name)?,
                    Segment::Index(index) => node.as_array()?.get(*index)?,
                    Segment::Wildcard => return None,
                };
            }
            return Some(node.clone());
        }
        let mut nodes = vec![doc];
        for segment in &self.segments {
            let mut next = Vec::new();
            for node in nodes {
                match segment {
                    Segment::Field(name) => next.extend(node.as_object().and_then(|o| o.get(name))),
                    Segment::Index(index) => {
                        next.extend(node.as_array().and_then(|a| a.get(*index)))
                    }
                    Segment::Wildcard => match node {
                        Value::Array(items) => next.extend(items.iter()),
                        Value::Object(map) => next.extend(map.values()),
                        _ => {}
                    },
                }
            }
            nodes = next;
        }
        Some(Value::Array(nodes.into_iter().cloned().collect()))
    }

    /// Writes `value` at this reference path inside `target`, creating missing objects.
    /// Fails when an existing node on the way is not an object (or an index is out of range).
    pub(crate) fn assign(&self, target: &mut Value, value: Value) -> Result<(), String> {
        let mut node = target;
        for (position, segment) in self.segments.iter().enumerate() {
            let last = position + 1 == self.segments.len();
            node = match segment {
                Segment::Field(name) => {
                    let Value::Object(map) = node else {
                        return Err(format!(
                            "cannot set \"{}\": the node before \"{name}\" is not an object",
                            self.text
                        ));
                    };
                    let entry = map.entry(name.clone());
                    if last {
                        *entry.or_insert(Value::Null) = value;
                        return Ok(());
                    }
                    entry.or_insert_with(|| Value::Object(Map::new()))
                }
                Segment::Index(index) => {
                    let slot = node.as_array_mut().and_then(|a| a.get_mut(*index));
                    let Some(slot) = slot else {
                        return Err(format!(
                            "cannot set \"{}\": index {index} does not exist",
                            self.text
                        ));
                    };
                    if last {
                        *slot = value;
                        return Ok(());
                    }
                    slot
                }
                Segment::Wildcard => {
                    return Err(format!("cannot set \"{}\": wildcard", self.text));
                }
            };
        }
        *node = value;
        Ok(())
    }

    /// True for `$$.Task.Token`.
    pub(crate) fn is_task_token(&self) -> bool {
        self.root == Root::Context
            && self.segments
                == [
                    Segment::Field("Task".to_owned()),
                    Segment::Field("Token".to_owned()),
                ]
    }
}

fn quoted(inner: &str) -> Option<String> {
    let body = inner
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))?;
    Some(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dollar_selects_the_whole_input() {
        let p = Path::parse("$").unwrap();
        assert_eq!(
            p.select(&json!({"a": 1}), &json!({})),
            Some(json!({"a": 1}))
        );
    }

    #[test]
    fn dotted_and_bracketed_fields_and_indexes_select_one_node() {
        let input = json!({"a": {"b c": [10, {"d": true}]}});
        let p = Path::parse("$.a['b c'][1].d").unwrap();
        assert_eq!(p.select(&input, &json!({})), Some(json!(true)));
        assert_eq!(
            Path::parse("$.a.x").unwrap().select(&input, &json!({})),
            None
        );
    }

    #[test]
    fn wildcard_paths_select_every_match_as_an_array() {
        let input = json!({"items": [{"id": 1}, {"id": 2}]});
        let p = Path::parse("$.items[*].id").unwrap();
        assert_eq!(p.select(&input, &json!({})), Some(json!([1, 2])));
    }

    #[test]
    fn double_dollar_reads_the_context_object() {
        let p = Path::parse("$$.Execution.Name").unwrap();
        assert_eq!(
            p.select(&json!({}), &json!({"Execution": {"Name": "n"}})),
            Some(json!("n"))
        );
    }

    #[test]
    fn filters_and_deep_scan_are_rejected_with_a_reason() {
        assert!(Path::parse("$..a").unwrap_err().contains("not supported"));
        assert!(
            Path::parse("$.a[?(@.b)]")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(Path::parse_reference("$.a[*]").is_err());
    }

    #[test]
    fn assign_creates_missing_objects_and_fails_on_non_objects() {
        let mut doc = json!({"a": 1});
        Path::parse("$.b.c")
            .unwrap()
            .assign(&mut doc, json!(2))
            .unwrap();
        assert_eq!(doc, json!({"a": 1, "b": {"c": 2}}));
        assert!(
            Path::parse("$.a.c")
                .unwrap()
                .assign(&mut doc, json!(3))
                .is_err()
        );
    }

    mod properties {
        use super::super::Path;
        use crate::intrinsic::Intrinsic;
        use proptest::prelude::*;
        use serde_json::{Value, json};

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                ".*".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::hash_map("[a-z$.]{0,4}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            // Paths come from the definition; whatever the text, parsing, selecting and assigning
            // return a value or an error, never a panic.
            #[test]
            fn any_path_text_parses_or_is_refused_without_panicking(text in ".*", input in any_json()) {
                if let Ok(path) = Path::parse(&text) {
                    let _ = path.select(&input, &json!({}));
                    let mut target = input.clone();
                    let _ = path.assign(&mut target, json!(1));
                }
                let _ = Path::parse_reference(&text);
            }

            #[test]
            fn path_like_text_over_any_document_never_panics(
                segments in prop::collection::vec("[a-z0-9\\[\\]*.$'\"]{0,6}", 0..5),
                input in any_json(),
            ) {
                let text = format!("$.{}", segments.join("."));
                if let Ok(path) = Path::parse(&text) {
                    let _ = path.select(&input, &input);
                    let mut target = input.clone();
                    let _ = path.assign(&mut target, Value::Null);
                }
            }

            #[test]
            fn any_intrinsic_text_parses_or_is_refused_and_evaluates_without_panicking(
                text in "States\\.[A-Za-z]{0,12}\\([^)]{0,24}\\)",
                input in any_json(),
            ) {
                if let Ok(call) = Intrinsic::parse(&text) {
                    let _ = call.eval(&input, &json!({}));
                }
            }
        }
    }
}
