//! Reading the fields of one state: which fields each state type accepts, and typed readers
//! that name the state and the field in every error.

use serde_json::{Map, Value};

use super::{IoPath, MAX_SECONDS, ResultPath, Seconds};
use crate::error::DefinitionError;
use crate::path::Path;
use crate::template::Template;

/// Fields every state type accepts.
pub(super) const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

/// The fields a state of `state_type` accepts besides [`COMMON`], or `None` for an unknown
/// type.
pub(super) fn allowed_fields(state_type: &str) -> Option<&'static [&'static str]> {
    Some(match state_type {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultPath",
            "Result",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
        ],
        "Choice" => &["InputPath", "OutputPath", "Choices", "Default"],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
        ],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Branches",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "ItemProcessor",
            "Iterator",
            "MaxConcurrency",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
        ],
        _ => return None,
    })
}

/// An integer from 1 to [`MAX_SECONDS`].
pub(super) fn positive_int(v: &Value) -> Option<u64> {
    v.as_u64().filter(|n| (1..=MAX_SECONDS).contains(n))
}

/// The fields of the state named `state`.
pub(super) struct Fields<'a> {
    pub(super) state: &'a str,
    pub(super) map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub(super) fn err(&self, field: &str, problem: impl Into<String>) -> DefinitionError {
        DefinitionError::state(self.state, field, problem)
    }

    pub(super) fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field)
    }

    pub(super) fn string(&self, field: &str) -> Result<Option<&'a str>, DefinitionError> {
        match self.map.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(field, "must be a string")),
        }
    }

    pub(super) fn reference_path(&self, field: &str) -> Result<Option<Path>, DefinitionError> {
        self.string(field)?
            .map(|p| Path::parse_reference(p).map_err(|e| self.err(field, e)))
            .transpose()
    }

    pub(super) fn io_path(&self, field: &str) -> Result<IoPath, DefinitionError> {
        match self.map.get(field) {
            None => Ok(IoPath::Identity),
            Some(Value::Null) => Ok(IoPath::Null),
            Some(Value::String(p)) => Path::parse(p)
                .map(IoPath::Path)
                .map_err(|e| self.err(field, e)),
            Some(_) => Err(self.err(field, "must be a path or null")),
        }
    }

    pub(super) fn template(&self, field: &str) -> Result<Option<Template>, DefinitionError> {
        match self.map.get(field) {
            None => Ok(None),
            Some(v @ Value::Object(_)) if field == "ResultSelector" || field == "ItemSelector" => {
                Template::compile(v)
                    .map(Some)
                    .map_err(|e| self.err(field, e))
            }
            Some(_) if field == "ResultSelector" || field == "ItemSelector" => {
                Err(self.err(field, "must be an object"))
            }
            Some(v) => Template::compile(v)
                .map(Some)
                .map_err(|e| self.err(field, e)),
        }
    }

    pub(super) fn seconds(
        &self,
        field: &str,
        path_field: &str,
    ) -> Result<Option<Seconds>, DefinitionError> {
        match (self.map.get(field), self.map.get(path_field)) {
            (Some(_), Some(_)) => {
                Err(self.err(path_field, format!("cannot be used together with {field}")))
            }
            (Some(v), None) => positive_int(v)
                .map(|n| Some(Seconds::Fixed(n)))
                .ok_or_else(|| self.err(field, "must be a positive integer")),
            (None, Some(_)) => Ok(self.reference_path(path_field)?.map(Seconds::Path)),
            (None, None) => Ok(None),
        }
    }
}

/// A `ResultPath` value (of a state or a catcher).
pub(super) fn result_path(value: Option<&Value>) -> Result<ResultPath, String> {
    match value {
        None => Ok(ResultPath::Replace),
        Some(Value::Null) => Ok(ResultPath::Discard),
        Some(Value::String(p)) if p == "$" => Ok(ResultPath::Replace),
        Some(Value::String(p)) => Path::parse_reference(p).map(ResultPath::At),
        Some(_) => Err("must be a reference path or null".to_owned()),
    }
}
