//! Choice rules: data-test expressions (`Variable` + one comparison operator) combined with
//! `And`, `Or` and `Not`.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use crate::error::TaskError;
use crate::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeTest {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Value(Value),
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) enum Test {
    Compare(Kind, Relation, Operand),
    Matches(String),
    Is(TypeTest, bool),
}

/// One Boolean expression of a Choice state.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Data { variable: Path, test: Test },
}

fn operator(name: &str) -> Option<(Option<(Kind, Relation)>, bool)> {
    use Kind::*;
    use Relation::*;
    let (base, is_path) = match name.strip_suffix("Path") {
        Some(base) => (base, true),
        None => (name, false),
    };
    let kind = [
        ("String", String),
        ("Numeric", Numeric),
        ("Boolean", Boolean),
        ("Timestamp", Timestamp),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| base.strip_prefix(prefix).map(|rel| (kind, rel)))?;
    let relation = match kind.1 {
        "Equals" => Equals,
        "LessThan" => LessThan,
        "GreaterThan" => GreaterThan,
        "LessThanEquals" => LessThanEquals,
        "GreaterThanEquals" => GreaterThanEquals,
        "Matches" if kind.0 == String && !is_path => return Some((None, false)),
        _ => return None,
    };
    if kind.0 == Boolean && relation != Equals {
        return None;
    }
    Some((Some((kind.0, relation)), is_path))
}

fn type_test(name: &str) -> Option<TypeTest> {
    Some(match name {
        "IsNull" => TypeTest::Null,
        "IsPresent" => TypeTest::Present,
        "IsNumeric" => TypeTest::Numeric,
        "IsString" => TypeTest::String,
        "IsBoolean" => TypeTest::Boolean,
        "IsTimestamp" => TypeTest::Timestamp,
        _ => return None,
    })
}

impl Rule {
    /// Compiles a rule. `top_level` rules carry `Next` (checked by the caller); nested ones must not.
    /// Errors are `(field, problem)` with the field relative to the rule.
    pub(crate) fn compile(
        map: &Map<String, Value>,
        top_level: bool,
    ) -> Result<Rule, (String, String)> {
        let err = |field: &str, problem: &str| Err((field.to_owned(), problem.to_owned()));
        let mut operators = Vec::new();
        for key in map.keys() {
            match key.as_str() {
                "Comment" => {}
                "Next" if top_level => {}
                "Next" => return err("Next", "is not allowed in a nested rule"),
                "Variable" => {}
                "And" | "Or" | "Not" => operators.push(key.as_str()),
                other if operator(other).is_some() || type_test(other).is_some() => {
                    operators.push(other)
                }
                other => return err(other, "is not supported"),
            }
        }
        let [op] = operators.as_slice() else {
            return err(
                "Variable",
                "must be combined with exactly one comparison operator (or use And/Or/Not alone)",
            );
        };
        let op = *op;
        let operand = &map[op];
        match op {
            "And" | "Or" => {
                if map.contains_key("Variable") {
                    return err("Variable", "is not allowed beside And/Or");
                }
                let Some(items) = operand.as_array().filter(|a| !a.is_empty()) else {
                    return err(op, "must be a non-empty array of rules");
                };
                let mut rules = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let Some(obj) = item.as_object() else {
                        return err(&format!("{op}[{i}]"), "must be an object");
                    };
                    rules.push(
                        Rule::compile(obj, false)
                            .map_err(|(f, p)| (format!("{op}[{i}].{f}"), p))?,
                    );
                }
                Ok(if op == "And" {
                    Rule::And(rules)
                } else {
                    Rule::Or(rules)
                })
            }
            "Not" => {
                if map.contains_key("Variable") {
                    return err("Variable", "is not allowed beside Not");
                }
                let Some(obj) = operand.as_object() else {
                    return err("Not", "must be an object");
                };
                let inner = Rule::compile(obj, false).map_err(|(f, p)| (format!("Not.{f}"), p))?;
                Ok(Rule::Not(Box::new(inner)))
            }
            _ => {
                let Some(Value::String(variable)) = map.get("Variable") else {
                    return err("Variable", "is required and must be a path");
                };
                let variable = Path::parse(variable).map_err(|e| ("Variable".to_owned(), e))?;
                let test = if let Some(t) = type_test(op) {
                    let Value::Bool(expected) = operand else {
                        return err(op, "must be true or false");
                    };
                    Test::Is(t, *expected)
                } else {
                    match operator(op) {
                        Some((None, _)) => {
                            let Value::String(pattern) = operand else {
                                return err(op, "must be a string");
                            };
                            Test::Matches(pattern.clone())
                        }
                        Some((Some((kind, relation)), true)) => {
                            let Value::String(p) = operand else {
                                return err(op, "must be a path");
                            };
                            Test::Compare(
                                kind,
                                relation,
                                Operand::Path(Path::parse(p).map_err(|e| (op.to_owned(), e))?),
                            )
                        }
                        Some((Some((kind, relation)), false)) => {
                            let ok = match kind {
                                Kind::String => operand.is_string(),
                                Kind::Numeric => operand.is_number(),
                                Kind::Boolean => operand.is_boolean(),
                                Kind::Timestamp => operand.as_str().and_then(timestamp).is_some(),
                            };
                            if !ok {
                                return err(op, "has a value of the wrong type for this operator");
                            }
                            Test::Compare(kind, relation, Operand::Value(operand.clone()))
                        }
                        None => return err(op, "is not supported"),
                    }
                };
                Ok(Rule::Data { variable, test })
            }
        }
    }

    /// Evaluates the rule. A `Variable` (or `…Path` operand) that selects nothing is a
    /// `States.Runtime` error, except for `IsPresent`.
    pub(crate) fn eval(&self, input: &Value, context: &Value) -> Result<bool, TaskError> {
        match self {
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.eval(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.eval(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.eval(input, context)?),
            Rule::Data { variable, test } => {
                let value = variable.select(input, context);
                if let Test::Is(TypeTest::Present, expected) = test {
                    return Ok(value.is_some() == *expected);
                }
                let Some(value) = value else {
                    return Err(TaskError::runtime(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        variable.text
                    )));
                };
                match test {
                    Test::Is(kind, expected) => {
                        let actual = match kind {
                            TypeTest::Null => value.is_null(),
                            TypeTest::Present => true,
                            TypeTest::Numeric => value.is_number(),
                            TypeTest::String => value.is_string(),
                            TypeTest::Boolean => value.is_boolean(),
                            TypeTest::Timestamp => value.as_str().and_then(timestamp).is_some(),
                        };
                        Ok(actual == *expected)
                    }
                    Test::Matches(pattern) => {
                        Ok(value.as_str().is_some_and(|s| wildcard_match(pattern, s)))
                    }
                    Test::Compare(kind, relation, operand) => {
                        let other = match operand {
                            Operand::Value(v) => v.clone(),
                            Operand::Path(p) => p.select(input, context).ok_or_else(|| {
                                TaskError::runtime(format!(
                                    "Invalid path '{}': The choice state's condition path references an invalid value.",
                                    p.text
                                ))
                            })?,
                        };
                        Ok(compare(*kind, *relation, &value, &other))
                    }
                }
            }
        }
    }
}

fn timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

/// Values of the wrong type for the operator never match (no error), as in AWS.
fn compare(kind: Kind, relation: Relation, left: &Value, right: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match kind {
        Kind::String => match (left.as_str(), right.as_str()) {
            (Some(a), Some(b)) => Some(a.cmp(b)),
            _ => None,
        },
        Kind::Numeric => match (left.as_f64(), right.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => None,
        },
        Kind::Boolean => match (left.as_bool(), right.as_bool()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
        Kind::Timestamp => match (
            left.as_str().and_then(timestamp),
            right.as_str().and_then(timestamp),
        ) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match relation {
        Relation::Equals => ordering == Ordering::Equal,
        Relation::LessThan => ordering == Ordering::Less,
        Relation::GreaterThan => ordering == Ordering::Greater,
        Relation::LessThanEquals => ordering != Ordering::Greater,
        Relation::GreaterThanEquals => ordering != Ordering::Less,
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => toks.push(Tok::Char(chars.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic greedy wildcard matching with backtracking to the last star.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> Rule {
        Rule::compile(v.as_object().unwrap(), false).unwrap()
    }

    fn holds(v: Value, input: Value) -> bool {
        rule(v).eval(&input, &json!({})).unwrap()
    }

    #[test]
    fn string_operators_compare_lexically() {
        let i = json!({"s": "b", "t": "b"});
        assert!(holds(
            json!({"Variable": "$.s", "StringEquals": "b"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringLessThan": "c"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringGreaterThan": "a"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringLessThanEquals": "b"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringGreaterThanEquals": "b"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringEqualsPath": "$.t"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringLessThanEqualsPath": "$.t"}),
            i
        ));
    }

    #[test]
    fn string_matches_supports_star_wildcards_and_escapes() {
        // AWS Choice: "StringMatches … the wildcard character (*) … escape with \\*".
        let i = json!({"f": "log-2024.csv", "lit": "a*b"});
        assert!(holds(
            json!({"Variable": "$.f", "StringMatches": "log-*.csv"}),
            i.clone()
        ));
        assert!(!holds(
            json!({"Variable": "$.f", "StringMatches": "*.json"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.lit", "StringMatches": "a\\*b"}),
            i.clone()
        ));
        assert!(!holds(
            json!({"Variable": "$.f", "StringMatches": "a\\*b"}),
            i
        ));
    }

    #[test]
    fn numeric_operators_compare_integers_and_floats() {
        let i = json!({"n": 2, "m": 2.5});
        assert!(holds(
            json!({"Variable": "$.n", "NumericEquals": 2.0}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericLessThan": 3}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericGreaterThan": 1}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericLessThanEquals": 2}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericGreaterThanEquals": 2}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericLessThanPath": "$.m"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.m", "NumericGreaterThanPath": "$.n"}),
            i.clone()
        ));
        assert!(!holds(
            json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.n"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.n"}),
            i
        ));
    }

    #[test]
    fn boolean_and_timestamp_operators_compare_their_types() {
        let i = json!({"b": true, "c": true, "t": "2024-01-01T00:00:00Z", "u": "2024-01-01T01:00:00+01:00"});
        assert!(holds(
            json!({"Variable": "$.b", "BooleanEquals": true}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.b", "BooleanEqualsPath": "$.c"}),
            i.clone()
        ));
        // Timestamps compare as instants, so different offsets of the same instant are equal.
        assert!(holds(
            json!({"Variable": "$.t", "TimestampEqualsPath": "$.u"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampLessThan": "2024-01-02T00:00:00Z"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampGreaterThan": "2023-01-02T00:00:00Z"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampLessThanEquals": "2024-01-01T00:00:00Z"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2024-01-01T00:00:00Z"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampEquals": "2024-01-01T00:00:00Z"}),
            i.clone()
        ));
        assert!(!holds(
            json!({"Variable": "$.t", "TimestampLessThanPath": "$.t"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampGreaterThanEqualsPath": "$.u"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampLessThanEqualsPath": "$.u"}),
            i.clone()
        ));
        assert!(!holds(
            json!({"Variable": "$.t", "TimestampGreaterThanPath": "$.u"}),
            i
        ));
    }

    #[test]
    fn comparing_a_value_of_another_type_is_false_not_an_error() {
        assert!(!holds(
            json!({"Variable": "$.n", "StringEquals": "1"}),
            json!({"n": 1})
        ));
        assert!(!holds(
            json!({"Variable": "$.s", "NumericEquals": 1}),
            json!({"s": "1"})
        ));
        assert!(!holds(
            json!({"Variable": "$.s", "TimestampEquals": "2024-01-01T00:00:00Z"}),
            json!({"s": "today"})
        ));
    }

    #[test]
    fn type_tests_check_presence_and_json_type() {
        let i = json!({"z": null, "n": 1, "s": "x", "b": false, "t": "2024-01-01T00:00:00Z"});
        assert!(holds(json!({"Variable": "$.z", "IsNull": true}), i.clone()));
        assert!(holds(
            json!({"Variable": "$.n", "IsNumeric": true}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "IsString": true}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.b", "IsBoolean": true}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "IsTimestamp": true}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "IsTimestamp": false}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.missing", "IsPresent": false}),
            i.clone()
        ));
        assert!(holds(json!({"Variable": "$.z", "IsPresent": true}), i));
    }

    #[test]
    fn and_or_not_combine_rules() {
        let i = json!({"a": 1, "b": "x"});
        let a1 = json!({"Variable": "$.a", "NumericEquals": 1});
        let bx = json!({"Variable": "$.b", "StringEquals": "y"});
        assert!(!holds(json!({"And": [a1, bx]}), i.clone()));
        assert!(holds(json!({"Or": [a1, bx]}), i.clone()));
        assert!(holds(json!({"Not": bx}), i.clone()));
        assert!(holds(json!({"And": [a1, {"Not": bx}]}), i));
    }

    #[test]
    fn a_missing_variable_is_a_states_runtime_error() {
        // AWS: a Choice whose Variable path does not exist fails the execution with States.Runtime.
        let err = rule(json!({"Variable": "$.nope", "StringEquals": "x"}))
            .eval(&json!({}), &json!({}))
            .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn malformed_rules_are_rejected_with_the_field() {
        let compile = |v: Value| Rule::compile(v.as_object().unwrap(), false).unwrap_err().0;
        assert_eq!(
            compile(json!({"Variable": "$.a", "StringEquals": 1})),
            "StringEquals"
        );
        assert_eq!(
            compile(json!({"Variable": "$.a", "StringContains": "x"})),
            "StringContains"
        );
        assert_eq!(compile(json!({"Variable": "$.a"})), "Variable");
        assert_eq!(
            compile(json!({"And": [{"Variable": "$.a", "IsNull": 1}]})),
            "And[0].IsNull"
        );
    }
}
