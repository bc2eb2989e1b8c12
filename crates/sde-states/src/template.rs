//! Payload templates: `Parameters`, `ResultSelector` and `ItemSelector` objects whose `"key.$"`
//! entries are replaced by a path's value or an intrinsic function's result.

use serde_json::{Map, Value};

use crate::error::TaskError;
use crate::intrinsic::Intrinsic;
use crate::path::Path;

/// A compiled payload template.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(Path),
    Intrinsic(Intrinsic),
}

impl Template {
    /// Compiles a template; errors name the offending key.
    pub(crate) fn compile(value: &Value) -> Result<Template, String> {
        match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                let mut dynamic = false;
                for (key, inner) in map {
                    if let Some(name) = key.strip_suffix(".$") {
                        let Value::String(text) = inner else {
                            return Err(format!(
                                "key \"{key}\" must have a string value (a path or an intrinsic function)"
                            ));
                        };
                        let compiled = Template::compile_expression(text)
                            .map_err(|e| format!("key \"{key}\": {e}"))?;
                        if map.contains_key(name) {
                            return Err(format!("keys \"{name}\" and \"{key}\" both present"));
                        }
                        fields.push((name.to_owned(), compiled));
                        dynamic = true;
                    } else {
                        let compiled = Template::compile(inner)?;
                        dynamic |= !matches!(compiled, Template::Literal(_));
                        fields.push((key.clone(), compiled));
                    }
                }
                Ok(if dynamic {
                    Template::Object(fields)
                } else {
                    Template::Literal(value.clone())
                })
            }
            Value::Array(items) => {
                let compiled = items
                    .iter()
                    .map(Template::compile)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(
                    if compiled.iter().all(|t| matches!(t, Template::Literal(_))) {
                        Template::Literal(value.clone())
                    } else {
                        Template::Array(compiled)
                    },
                )
            }
            other => Ok(Template::Literal(other.clone())),
        }
    }

    /// Compiles the value of a `".$"` key: a path (`$…`, `$$…`) or an intrinsic call.
    pub(crate) fn compile_expression(text: &str) -> Result<Template, String> {
        if text.starts_with('$') {
            Ok(Template::Path(Path::parse(text)?))
        } else if text.starts_with("States.") {
            Ok(Template::Intrinsic(Intrinsic::parse(text)?))
        } else {
            Err(format!(
                "\"{text}\" is neither a path nor an intrinsic function"
            ))
        }
    }

    /// True if the template reads `$$.Task.Token` anywhere.
    pub(crate) fn uses_task_token(&self) -> bool {
        match self {
            Template::Literal(_) => false,
            Template::Object(fields) => fields.iter().any(|(_, t)| t.uses_task_token()),
            Template::Array(items) => items.iter().any(Template::uses_task_token),
            Template::Path(path) => path.is_task_token(),
            Template::Intrinsic(call) => call.uses_task_token(),
        }
    }

    /// The literal value of `key` in an object template, if it is static.
    pub(crate) fn literal_field(&self, key: &str) -> Option<&Value> {
        match self {
            Template::Literal(Value::Object(map)) => map.get(key),
            Template::Object(fields) => fields.iter().find_map(|(k, t)| match t {
                Template::Literal(v) if k == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    /// Renders the template. A path that selects nothing is a `States.Runtime` error, as in AWS.
    pub(crate) fn render(&self, input: &Value, context: &Value) -> Result<Value, TaskError> {
        match self {
            Template::Literal(value) => Ok(value.clone()),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (key, template) in fields {
                    let value = template.render(input, context).map_err(|e| {
                        if matches!(template, Template::Path(_)) {
                            TaskError::new(
                                e.error,
                                format!("{} specified for the field '{key}.$'", e.cause),
                            )
                        } else {
                            e
                        }
                    })?;
                    out.insert(key.clone(), value);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|t| t.render(input, context))
                    .collect::<Result<_, _>>()?,
            )),
            Template::Path(path) => path.select(input, context).ok_or_else(|| {
                TaskError::runtime(format!(
                    "The JSONPath '{}' could not be found in the input",
                    path.text
                ))
            }),
            Template::Intrinsic(call) => call.eval(input, context),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_ending_in_dollar_are_replaced_and_renamed_without_the_suffix() {
        // AWS "Parameters": "For key-value pairs where the value is selected using a path, the key name must end in .$".
        let t = Template::compile(&json!({
            "static": {"kept": 1},
            "fromInput.$": "$.a",
            "nested": {"fromContext.$": "$$.Execution.Id", "call.$": "States.Format('{}!', $.a)"},
            "list": [{"x.$": "$.a"}]
        }))
        .unwrap();
        let out = t
            .render(&json!({"a": "v"}), &json!({"Execution": {"Id": "arn"}}))
            .unwrap();
        assert_eq!(
            out,
            json!({"static": {"kept": 1}, "fromInput": "v", "nested": {"fromContext": "arn", "call": "v!"}, "list": [{"x": "v"}]})
        );
    }

    #[test]
    fn a_path_that_selects_nothing_fails_with_states_runtime() {
        let t = Template::compile(&json!({"x.$": "$.missing"})).unwrap();
        let err = t.render(&json!({}), &json!({})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("'x.$'"));
    }

    #[test]
    fn non_string_dollar_values_are_rejected_at_compile() {
        assert!(Template::compile(&json!({"x.$": 1})).is_err());
        assert!(Template::compile(&json!({"x.$": "plain"})).is_err());
    }
}
