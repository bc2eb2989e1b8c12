//! Intrinsic functions (`States.Format(…)`, `States.StringToJson(…)`, …) usable in payload
//! templates (`"key.$"` values) and in a Fail state's `ErrorPath`/`CausePath`.

use base64::Engine as _;
use rand::Rng as _;
use serde_json::{Map, Value};

use crate::error::{TaskError, names};
use crate::path::Path;

/// A parsed call, e.g. `States.Format('{} rows', $.rows)`.
#[derive(Debug, Clone)]
pub(crate) struct Intrinsic {
    function: Function,
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
enum Arg {
    /// A quoted string: the unescaped value and the raw text (Format needs the escapes).
    Str {
        value: String,
        raw: String,
    },
    Literal(Value),
    Path(Path),
    Call(Box<Intrinsic>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    fn from_name(name: &str) -> Option<(Function, usize, Option<usize>)> {
        use Function::*;
        Some(match name {
            "States.Format" => (Format, 1, None),
            "States.StringToJson" => (StringToJson, 1, Some(1)),
            "States.JsonToString" => (JsonToString, 1, Some(1)),
            "States.Array" => (Array, 0, None),
            "States.ArrayPartition" => (ArrayPartition, 2, Some(2)),
            "States.ArrayContains" => (ArrayContains, 2, Some(2)),
            "States.ArrayRange" => (ArrayRange, 3, Some(3)),
            "States.ArrayGetItem" => (ArrayGetItem, 2, Some(2)),
            "States.ArrayLength" => (ArrayLength, 1, Some(1)),
            "States.ArrayUnique" => (ArrayUnique, 1, Some(1)),
            "States.Base64Encode" => (Base64Encode, 1, Some(1)),
            "States.Base64Decode" => (Base64Decode, 1, Some(1)),
            "States.JsonMerge" => (JsonMerge, 3, Some(3)),
            "States.MathRandom" => (MathRandom, 2, Some(3)),
            "States.MathAdd" => (MathAdd, 2, Some(2)),
            "States.StringSplit" => (StringSplit, 2, Some(2)),
            "States.UUID" => (Uuid, 0, Some(0)),
            _ => return None,
        })
    }
}

impl Intrinsic {
    /// Parses a whole intrinsic call; the error says what is wrong or unsupported.
    pub(crate) fn parse(text: &str) -> Result<Intrinsic, String> {
        let chars: Vec<char> = text.trim().chars().collect();
        let mut pos = 0;
        let call = parse_call(&chars, &mut pos)?;
        if pos != chars.len() {
            return Err(format!("unexpected text after the call in \"{text}\""));
        }
        Ok(call)
    }

    /// True if any argument, at any depth, is the path `$$.Task.Token`.
    pub(crate) fn uses_task_token(&self) -> bool {
        self.args.iter().any(|arg| match arg {
            Arg::Path(path) => path.is_task_token(),
            Arg::Call(call) => call.uses_task_token(),
            _ => false,
        })
    }

    /// Evaluates the call against the input and the context object.
    pub(crate) fn eval(&self, input: &Value, context: &Value) -> Result<Value, TaskError> {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::Str { value, .. } => Value::String(value.clone()),
                Arg::Literal(value) => value.clone(),
                Arg::Path(path) => path.select(input, context).ok_or_else(|| {
                    TaskError::runtime(format!(
                        "The JSONPath '{}' could not be found in the input",
                        path.text
                    ))
                })?,
                Arg::Call(call) => call.eval(input, context)?,
            });
        }
        self.apply(&values)
    }

    fn apply(&self, args: &[Value]) -> Result<Value, TaskError> {
        use Function::*;
        let fail = |message: String| TaskError::new(names::INTRINSIC_FAILURE, message);
        Ok(match self.function {
            Format => {
                let template = match self.args.first() {
                    Some(Arg::Str { raw, .. }) => raw.clone(),
                    _ => escape_template(str_arg(args, 0, "States.Format")?),
                };
                Value::String(format_template(&template, &args[1..])?)
            }
            StringToJson => {
                let text = str_arg(args, 0, "States.StringToJson")?;
                serde_json::from_str(text)
                    .map_err(|e| fail(format!("States.StringToJson: not JSON: {e}")))?
            }
            JsonToString => Value::String(args[0].to_string()),
            Array => Value::Array(args.to_vec()),
            ArrayPartition => {
                let items = array_arg(args, 0, "States.ArrayPartition")?;
                let size = int_arg(args, 1, "States.ArrayPartition")?;
                if size <= 0 {
                    return Err(fail(
                        "States.ArrayPartition: chunk size must be positive".into(),
                    ));
                }
                Value::Array(
                    items
                        .chunks(size as usize)
                        .map(|chunk| Value::Array(chunk.to_vec()))
                        .collect(),
                )
            }
            ArrayContains => {
                Value::Bool(array_arg(args, 0, "States.ArrayContains")?.contains(&args[1]))
            }
            ArrayRange => {
                let (start, end, step) = (
                    int_arg(args, 0, "States.ArrayRange")?,
                    int_arg(args, 1, "States.ArrayRange")?,
                    int_arg(args, 2, "States.ArrayRange")?,
                );
                if step == 0 {
                    return Err(fail("States.ArrayRange: step must not be 0".into()));
                }
                let mut out = Vec::new();
                let mut n = start;
                while (step > 0 && n <= end) || (step < 0 && n >= end) {
                    if out.len() >= 1000 {
                        return Err(fail("States.ArrayRange: more than 1000 items".into()));
                    }
                    out.push(Value::from(n));
                    n += step;
                }
                Value::Array(out)
            }
            ArrayGetItem => {
                let items = array_arg(args, 0, "States.ArrayGetItem")?;
                let index = int_arg(args, 1, "States.ArrayGetItem")?;
                usize::try_from(index)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        fail(format!("States.ArrayGetItem: index {index} out of range"))
                    })?
            }
            ArrayLength => Value::from(array_arg(args, 0, "States.ArrayLength")?.len()),
            ArrayUnique => {
                let mut unique: Vec<Value> = Vec::new();
                for item in array_arg(args, 0, "States.ArrayUnique")? {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Value::Array(unique)
            }
            Base64Encode => {
                Value::String(base64::engine::general_purpose::STANDARD.encode(str_arg(
                    args,
                    0,
                    "States.Base64Encode",
                )?))
            }
            Base64Decode => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(str_arg(args, 0, "States.Base64Decode")?)
                    .map_err(|e| fail(format!("States.Base64Decode: {e}")))?;
                Value::String(
                    String::from_utf8(bytes)
                        .map_err(|e| fail(format!("States.Base64Decode: not UTF-8: {e}")))?,
                )
            }
            JsonMerge => {
                let (Value::Object(left), Value::Object(right)) = (&args[0], &args[1]) else {
                    return Err(fail(
                        "States.JsonMerge: both arguments must be objects".into(),
                    ));
                };
                if args[2] != Value::Bool(false) {
                    return Err(fail(
                        "States.JsonMerge: only shallow merge (false) is supported".into(),
                    ));
                }
                let mut merged: Map<String, Value> = left.clone();
                merged.extend(right.clone());
                Value::Object(merged)
            }
            MathRandom => {
                let start = int_arg(args, 0, "States.MathRandom")?;
                let end = int_arg(args, 1, "States.MathRandom")?;
                if end <= start {
                    return Err(fail(
                        "States.MathRandom: end must be greater than start".into(),
                    ));
                }
                Value::from(rand::rng().random_range(start..end))
            }
            MathAdd => {
                let a = int_arg(args, 0, "States.MathAdd")?;
                let b = int_arg(args, 1, "States.MathAdd")?;
                Value::from(a.saturating_add(b))
            }
            StringSplit => {
                let text = str_arg(args, 0, "States.StringSplit")?;
                let delimiters: Vec<char> =
                    str_arg(args, 1, "States.StringSplit")?.chars().collect();
                Value::Array(
                    text.split(|c| delimiters.contains(&c))
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                )
            }
            Uuid => Value::String(uuid::Uuid::new_v4().to_string()),
        })
    }
}

fn str_arg<'a>(args: &'a [Value], index: usize, function: &str) -> Result<&'a str, TaskError> {
    args.get(index).and_then(Value::as_str).ok_or_else(|| {
        TaskError::new(
            names::INTRINSIC_FAILURE,
            format!("{function}: argument {} must be a string", index + 1),
        )
    })
}

fn array_arg<'a>(
    args: &'a [Value],
    index: usize,
    function: &str,
) -> Result<&'a Vec<Value>, TaskError> {
    args.get(index).and_then(Value::as_array).ok_or_else(|| {
        TaskError::new(
            names::INTRINSIC_FAILURE,
            format!("{function}: argument {} must be an array", index + 1),
        )
    })
}

fn int_arg(args: &[Value], index: usize, function: &str) -> Result<i64, TaskError> {
    let value = args.get(index);
    value
        .and_then(Value::as_i64)
        .or_else(|| {
            value
                .and_then(Value::as_f64)
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        })
        .ok_or_else(|| {
            TaskError::new(
                names::INTRINSIC_FAILURE,
                format!("{function}: argument {} must be an integer", index + 1),
            )
        })
}

fn escape_template(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '\\' | '{' | '}' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Replaces each unescaped `{}` with the next argument; `\{`, `\}`, `\'` and `\\` are literals.
fn format_template(raw: &str, args: &[Value]) -> Result<String, TaskError> {
    let fail = |message: &str| TaskError::new(names::INTRINSIC_FAILURE, message.to_owned());
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::new();
    let mut next = args.iter();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                out.push(chars[i + 1]);
                i += 2;
            }
            '{' if chars.get(i + 1) == Some(&'}') => {
                let arg = next
                    .next()
                    .ok_or_else(|| fail("States.Format: more {} than arguments"))?;
                match arg {
                    Value::String(s) => out.push_str(s),
                    Value::Array(_) | Value::Object(_) => {
                        return Err(fail(
                            "States.Format: arguments must be strings, numbers, booleans or null",
                        ));
                    }
                    other => out.push_str(&other.to_string()),
                }
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    if next.next().is_some() {
        return Err(fail("States.Format: more arguments than {}"));
    }
    Ok(out)
}

fn skip_spaces(chars: &[char], pos: &mut usize) {
    while *pos < chars.len() && chars[*pos].is_whitespace() {
        *pos += 1;
    }
}

fn parse_call(chars: &[char], pos: &mut usize) -> Result<Intrinsic, String> {
    let start = *pos;
    while *pos < chars.len() && chars[*pos] != '(' {
        *pos += 1;
    }
    let name: String = chars[start..*pos]
        .iter()
        .collect::<String>()
        .trim()
        .to_owned();
    if *pos >= chars.len() {
        return Err(format!("\"{name}\" is not a function call"));
    }
    let (function, min, max) = Function::from_name(&name)
        .ok_or_else(|| format!("intrinsic function \"{name}\" is not supported"))?;
    *pos += 1;
    let mut args = Vec::new();
    skip_spaces(chars, pos);
    if chars.get(*pos) == Some(&')') {
        *pos += 1;
    } else {
        loop {
            skip_spaces(chars, pos);
            args.push(parse_arg(chars, pos)?);
            skip_spaces(chars, pos);
            match chars.get(*pos) {
                Some(',') => *pos += 1,
                Some(')') => {
                    *pos += 1;
                    break;
                }
                _ => return Err(format!("{name}: expected , or ) in the argument list")),
            }
        }
    }
    if args.len() < min || max.is_some_and(|max| args.len() > max) {
        return Err(format!(
            "{name}: wrong number of arguments ({})",
            args.len()
        ));
    }
    if function == Function::Format
        && !matches!(args.first(), Some(Arg::Str { .. }) | Some(Arg::Path(_)))
    {
        return Err("States.Format: the first argument must be a string".to_owned());
    }
    Ok(Intrinsic { function, args })
}

fn parse_arg(chars: &[char], pos: &mut usize) -> Result<Arg, String> {
    match chars.get(*pos) {
        Some('\'') => {
            *pos += 1;
            let mut value = String::new();
            let mut raw = String::new();
            loop {
                match chars.get(*pos) {
                    None => return Err("unterminated string argument".to_owned()),
                    Some('\\') => {
                        let escaped = chars
                            .get(*pos + 1)
                            .ok_or_else(|| "unterminated escape in a string argument".to_owned())?;
                        value.push(*escaped);
                        raw.push('\\');
                        raw.push(*escaped);
                        *pos += 2;
                    }
                    Some('\'') => {
                        *pos += 1;
                        return Ok(Arg::Str { value, raw });
                    }
                    Some(c) => {
                        value.push(*c);
                        raw.push(*c);
                        *pos += 1;
                    }
                }
            }
        }
        Some('$') => {
            let start = *pos;
            let mut depth = 0;
            while let Some(c) = chars.get(*pos) {
                match c {
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    ',' | ')' if depth == 0 => break,
                    _ => {}
                }
                *pos += 1;
            }
            let text: String = chars[start..*pos].iter().collect();
            Ok(Arg::Path(Path::parse(text.trim())?))
        }
        Some(_) => {
            let start = *pos;
            while let Some(c) = chars.get(*pos) {
                if matches!(c, ',' | ')' | '(') {
                    break;
                }
                *pos += 1;
            }
            if chars.get(*pos) == Some(&'(') {
                *pos = start;
                return Ok(Arg::Call(Box::new(parse_call(chars, pos)?)));
            }
            let text: String = chars[start..*pos].iter().collect();
            let text = text.trim();
            match serde_json::from_str::<Value>(text) {
                Ok(value @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                    Ok(Arg::Literal(value))
                }
                _ => Err(format!(
                    "argument \"{text}\" is not a string, number, boolean, null, path or call"
                )),
            }
        }
        None => Err("missing argument".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str, input: Value) -> Result<Value, TaskError> {
        Intrinsic::parse(text)
            .unwrap()
            .eval(&input, &json!({"Execution": {"Name": "x1"}}))
    }

    #[test]
    fn format_replaces_each_placeholder_in_order_and_keeps_escaped_braces() {
        // AWS: States.Format — "{}" placeholders, "\\{" and "\\}" escape literal braces.
        let out = eval(
            r"States.Format('Export {} of {} rows \{ok\}', $$.Execution.Name, $.rows)",
            json!({"rows": 3}),
        );
        assert_eq!(out.unwrap(), json!("Export x1 of 3 rows {ok}"));
    }

    #[test]
    fn string_to_json_and_json_to_string_round_trip() {
        assert_eq!(
            eval("States.StringToJson($.s)", json!({"s": "{\"a\":1}"})).unwrap(),
            json!({"a": 1})
        );
        assert_eq!(
            eval("States.JsonToString($.o)", json!({"o": {"a": 1}})).unwrap(),
            json!("{\"a\":1}")
        );
    }

    #[test]
    fn array_functions_follow_the_documented_results() {
        assert_eq!(
            eval("States.Array(1, 'a', $.b)", json!({"b": true})).unwrap(),
            json!([1, "a", true])
        );
        assert_eq!(
            eval(
                "States.ArrayPartition(States.Array(1,2,3,4,5), 2)",
                json!({})
            )
            .unwrap(),
            json!([[1, 2], [3, 4], [5]])
        );
        assert_eq!(
            eval("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            eval("States.ArrayGetItem($.a, 1)", json!({"a": [5, 6]})).unwrap(),
            json!(6)
        );
        assert_eq!(
            eval("States.ArrayLength($.a)", json!({"a": [5, 6]})).unwrap(),
            json!(2)
        );
        assert_eq!(
            eval("States.ArrayContains($.a, 6)", json!({"a": [5, 6]})).unwrap(),
            json!(true)
        );
        assert_eq!(
            eval("States.ArrayUnique($.a)", json!({"a": [1, 1, 2]})).unwrap(),
            json!([1, 2])
        );
    }

    #[test]
    fn encoding_math_string_and_merge_functions_work() {
        assert_eq!(
            eval("States.Base64Encode('hi')", json!({})).unwrap(),
            json!("aGk=")
        );
        assert_eq!(
            eval("States.Base64Decode('aGk=')", json!({})).unwrap(),
            json!("hi")
        );
        assert_eq!(eval("States.MathAdd(40, 2)", json!({})).unwrap(), json!(42));
        assert_eq!(
            eval("States.StringSplit('a,b,,c', ',')", json!({})).unwrap(),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            eval(
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": {"x": 1}, "b": {"y": 2}})
            )
            .unwrap(),
            json!({"x": 1, "y": 2})
        );
        let r = eval("States.MathRandom(1, 3)", json!({}))
            .unwrap()
            .as_i64()
            .unwrap();
        assert!((1..3).contains(&r));
        assert_eq!(
            eval("States.UUID()", json!({}))
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            36
        );
    }

    #[test]
    fn unknown_functions_and_bad_arguments_are_rejected_at_parse() {
        assert!(
            Intrinsic::parse("States.Hash('a', 'MD5')")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(Intrinsic::parse("States.ArrayLength()").is_err());
    }

    #[test]
    fn wrong_argument_types_fail_with_states_intrinsic_failure() {
        let err = eval("States.ArrayLength($.a)", json!({"a": 1})).unwrap_err();
        assert_eq!(err.error, "States.IntrinsicFailure");
    }
}
