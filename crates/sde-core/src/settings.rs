//! Settings read once at start-up from the environment (or, in tests, from a map): one reader
//! for every crate's configuration, so each setting is looked up, trimmed, parsed and reported
//! the same way, and every error names the variable at fault.
//!
//! A blank value counts as unset, so `SDE_X=` in a deployment file means "use the default".

use crate::error::BoxError;
use crate::secret::Secret;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

/// Reads settings through a lookup from variable name to value: the process environment
/// ([`Settings::from_env`]) or any closure (`Settings(|name| map.get(name).cloned())`).
pub struct Settings<F>(pub F);

impl<F> fmt::Debug for Settings<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The values may hold secrets.
        f.write_str("Settings")
    }
}

/// The process environment as a lookup; a value that is not Unicode counts as unset.
pub fn env(variable: &str) -> Option<String> {
    std::env::var(variable).ok()
}

impl Settings<fn(&str) -> Option<String>> {
    /// Settings read from the process environment.
    pub fn from_env() -> Self {
        Settings(env)
    }
}

impl<F: Fn(&str) -> Option<String>> Settings<F> {
    /// A set, non-blank value, trimmed.
    pub fn optional(&self, variable: &'static str) -> Option<String> {
        (self.0)(variable)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// A value that must be set; the error shows `example`.
    pub fn required(&self, variable: &'static str, example: &str) -> Result<String, SettingsError> {
        self.optional(variable)
            .ok_or_else(|| SettingsError::missing(variable, example))
    }

    /// A secret, exactly as given (a password may begin or end with a space); empty is unset.
    pub fn secret(&self, variable: &'static str) -> Option<Secret> {
        (self.0)(variable)
            .filter(|value| !value.is_empty())
            .map(Secret::new)
    }

    /// A whole number in `range`, or `default` when unset.
    pub fn number<N>(
        &self,
        variable: &'static str,
        default: N,
        range: RangeInclusive<N>,
    ) -> Result<N, SettingsError>
    where
        N: FromStr + PartialOrd + fmt::Display,
    {
        let Some(text) = self.optional(variable) else {
            return Ok(default);
        };
        let value: N = text.parse().map_err(|_| {
            SettingsError::new(variable, format!("must be a whole number, got {text:?}"))
        })?;
        if !range.contains(&value) {
            return Err(SettingsError::new(
                variable,
                format!(
                    "must be between {} and {}, got {value}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(value)
    }

    /// A whole number of seconds in `range`, or `default` when unset.
    pub fn seconds(
        &self,
        variable: &'static str,
        default: Duration,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, SettingsError> {
        let Some(text) = self.optional(variable) else {
            return Ok(default);
        };
        let secs: u64 = text.parse().map_err(|_| {
            SettingsError::new(
                variable,
                format!("must be a whole number of seconds, got {text:?}"),
            )
        })?;
        if !range.contains(&secs) {
            return Err(SettingsError::new(
                variable,
                format!(
                    "must be between {} and {} seconds, got {secs}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(Duration::from_secs(secs))
    }

    /// A value parsed as `T`, or `None` when unset. The error says the value must be
    /// `expected` (e.g. "a URL such as https://host:9200") and keeps the parser's error as its
    /// cause; it does not repeat the value, which may hold credentials.
    pub fn parsed<T>(
        &self,
        variable: &'static str,
        expected: &str,
    ) -> Result<Option<T>, SettingsError>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        self.optional(variable)
            .map(|text| {
                text.parse::<T>().map_err(|error| {
                    SettingsError::new(variable, format!("must be {expected}")).with_source(error)
                })
            })
            .transpose()
    }
}

/// Whether a setting was missing or present but unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsErrorKind {
    /// A required setting is not set (or blank).
    Missing,
    /// A setting is set to something that cannot be used.
    Invalid,
}

/// A missing or unusable setting: `<VARIABLE>: <what is wrong, in words a deployer can act on>`.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct SettingsError {
    /// The environment variable at fault (or the configuration field, for a value built in code).
    pub variable: &'static str,
    /// Missing or invalid.
    pub kind: SettingsErrorKind,
    problem: String,
    #[source]
    source: Option<BoxError>,
}

impl SettingsError {
    /// `variable` is set but wrong; `problem` says how (e.g. "must be an email address, got
    /// \"nobody\"").
    pub fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        SettingsError {
            variable,
            kind: SettingsErrorKind::Invalid,
            problem: problem.into(),
            source: None,
        }
    }

    /// `variable` must be set and is not; `example` shows a value that would do.
    pub fn missing(variable: &'static str, example: &str) -> Self {
        SettingsError {
            variable,
            kind: SettingsErrorKind::Missing,
            problem: format!("must be set, e.g. {example}"),
            source: None,
        }
    }

    /// Keeps `source` (a parser's error) as the cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What is wrong, without the variable's name.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::error::Error as _;
    use std::net::SocketAddr;

    fn settings(pairs: &[(&str, &str)]) -> Settings<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings(move |name: &str| map.get(name).cloned())
    }

    #[test]
    fn optional_values_are_trimmed_and_blank_counts_as_unset() {
        let s = settings(&[("A", "  value "), ("BLANK", "   ")]);
        assert_eq!(s.optional("A").as_deref(), Some("value"));
        assert_eq!(s.optional("BLANK"), None);
        assert_eq!(s.optional("UNSET"), None);
    }

    #[test]
    fn a_missing_required_value_names_the_variable_and_an_example() {
        let error = settings(&[("B", " ")])
            .required("B", "my-bucket")
            .unwrap_err();
        assert_eq!(error.variable, "B");
        assert_eq!(error.kind, SettingsErrorKind::Missing);
        assert_eq!(error.to_string(), "B: must be set, e.g. my-bucket");
    }

    #[test]
    fn numbers_default_when_unset_and_are_checked_against_their_range() {
        let s = settings(&[("N", "12"), ("BIG", "99"), ("WORD", "many")]);
        assert_eq!(s.number("N", 4u32, 1..=64).unwrap(), 12);
        assert_eq!(s.number("UNSET", 4u32, 1..=64).unwrap(), 4);
        let big = s.number("BIG", 4u32, 1..=64).unwrap_err();
        assert_eq!(big.to_string(), "BIG: must be between 1 and 64, got 99");
        let word = s.number("WORD", 4u32, 1..=64).unwrap_err();
        assert_eq!(word.variable, "WORD");
        assert_eq!(word.kind, SettingsErrorKind::Invalid);
        assert!(word.to_string().contains("\"many\""), "{word}");
    }

    #[test]
    fn seconds_become_durations_within_their_range() {
        let s = settings(&[("T", "90"), ("ZERO", "0"), ("SOON", "soon")]);
        let default = Duration::from_secs(30);
        assert_eq!(
            s.seconds("T", default, 1..=3600).unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(s.seconds("UNSET", default, 1..=3600).unwrap(), default);
        assert_eq!(
            s.seconds("ZERO", default, 1..=3600)
                .unwrap_err()
                .to_string(),
            "ZERO: must be between 1 and 3600 seconds, got 0"
        );
        assert!(
            s.seconds("SOON", default, 1..=3600)
                .unwrap_err()
                .to_string()
                .starts_with("SOON: must be a whole number of seconds")
        );
    }

    #[test]
    fn a_parse_failure_keeps_the_cause_and_does_not_repeat_the_value() {
        let s = settings(&[("ADDR", "user:secret@nowhere"), ("OK", "127.0.0.1:80")]);
        let error = s
            .parsed::<SocketAddr>("ADDR", "an address such as 127.0.0.1:9200")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "ADDR: must be an address such as 127.0.0.1:9200"
        );
        assert!(error.source().is_some(), "the parser's error is kept");
        assert!(!format!("{error:?}").contains("secret"));
        assert_eq!(
            s.parsed::<SocketAddr>("OK", "an address").unwrap(),
            Some("127.0.0.1:80".parse().unwrap())
        );
        assert_eq!(s.parsed::<SocketAddr>("UNSET", "an address").unwrap(), None);
    }

    #[test]
    fn secrets_are_kept_verbatim_and_never_printed() {
        let s = settings(&[("P", " pa ss "), ("EMPTY", "")]);
        let secret = s.secret("P").unwrap();
        assert_eq!(secret.expose(), " pa ss ");
        assert_eq!(s.secret("EMPTY"), None);
        assert!(!format!("{s:?} {secret:?}").contains("pa ss"));
    }

    #[test]
    fn errors_built_by_hand_read_the_same_way() {
        let error = SettingsError::new("SDE_MAIL_FROM", "must be an email address");
        assert_eq!(error.to_string(), "SDE_MAIL_FROM: must be an email address");
        assert_eq!(error.problem(), "must be an email address");
        assert_eq!(error.kind, SettingsErrorKind::Invalid);
    }
}
