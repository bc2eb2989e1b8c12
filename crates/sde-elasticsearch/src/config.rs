//! Where the cluster is and how to talk to it: typed, validated once at start-up, with the
//! password in a type that never prints.

use elasticsearch::http::Url;
use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

/// Index searched when `SDE_ES_INDEX` is not set.
pub const DEFAULT_INDEX: &str = "posts";
/// Largest scroll page when the configuration gives none.
pub const DEFAULT_MAX_BATCH_SIZE: NonZeroUsize = match NonZeroUsize::new(5_000) {
    Some(size) => size,
    None => NonZeroUsize::MIN,
};
/// Time one HTTP request may take when the configuration gives none.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the cluster keeps a scroll context alive between two batches.
pub const DEFAULT_SCROLL_KEEP_ALIVE: Duration = Duration::from_secs(120);

/// A password or other secret. Its `Debug` shows `***`, it has no `Display`, and it is only read
/// through [`expose`](Self::expose) where it is handed to the HTTP client.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it leaves the process (the `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

/// How to reach the index. Build it with [`EsConfig::new`] or [`EsConfig::from_env`]; every
/// field is checked again by [`EsConfig::validate`] when an [`EsIndex`](crate::EsIndex) is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsConfig {
    /// Base URL of the cluster, e.g. `https://search-posts-abc123.eu-west-1.es.amazonaws.com`.
    /// Credentials never go in the URL (they would end up in logs); use the fields below.
    pub url: Url,
    /// Index (or alias) holding the posts.
    pub index: String,
    /// HTTP basic-auth user: on Amazon OpenSearch Service, a fine-grained-access-control
    /// internal user mapped to a role that may read the index and use scrolls.
    pub username: Option<String>,
    /// The password of `username`.
    pub password: Option<Secret>,
    /// Largest scroll page; a scan asking for bigger batches gets batches of this size (and never
    /// more than [`MAX_RESULT_WINDOW`](crate::MAX_RESULT_WINDOW), which the cluster enforces).
    pub max_batch_size: NonZeroUsize,
    /// Time one HTTP request may take, connection included.
    pub request_timeout: Duration,
    /// How long the cluster keeps a scroll alive between two batches (at least one second,
    /// whole seconds).
    pub scroll_keep_alive: Duration,
}

/// A configuration value that cannot be used; `name` is the environment variable (from
/// [`EsConfig::from_env`]) or the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is missing.
    #[error("{name} is not set: {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    /// A value is present but wrong.
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    /// The URL does not parse.
    #[error("{name} is not a URL")]
    Url {
        name: &'static str,
        #[source]
        source: <Url as std::str::FromStr>::Err,
    },
    /// The HTTP client could not be set up from a valid configuration.
    #[error("could not set up the Elasticsearch client")]
    Client(#[source] elasticsearch::http::transport::BuildError),
}

/// The names [`EsConfig::from_env`] reads and [`EsConfig::validate`] reports.
#[derive(Clone, Copy)]
struct Names {
    url: &'static str,
    index: &'static str,
    username: &'static str,
    password: &'static str,
    max_batch_size: &'static str,
    request_timeout: &'static str,
    scroll_keep_alive: &'static str,
}

const FIELD_NAMES: Names = Names {
    url: "url",
    index: "index",
    username: "username",
    password: "password",
    max_batch_size: "max_batch_size",
    request_timeout: "request_timeout",
    scroll_keep_alive: "scroll_keep_alive",
};

const ENV_NAMES: Names = Names {
    url: "SDE_ES_URL",
    index: "SDE_ES_INDEX",
    username: "SDE_ES_USERNAME",
    password: "SDE_ES_PASSWORD",
    max_batch_size: "SDE_ES_MAX_BATCH_SIZE",
    request_timeout: "SDE_ES_REQUEST_TIMEOUT_SECS",
    scroll_keep_alive: "SDE_ES_SCROLL_KEEP_ALIVE_SECS",
};

impl EsConfig {
    /// A configuration for the cluster at `url` with every other field at its default (index
    /// `posts`, no credentials).
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        let config = EsConfig {
            url: parse_url(FIELD_NAMES.url, url)?,
            index: DEFAULT_INDEX.to_owned(),
            username: None,
            password: None,
            max_batch_size: DEFAULT_MAX_BATCH_SIZE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            scroll_keep_alive: DEFAULT_SCROLL_KEEP_ALIVE,
        };
        config.check(FIELD_NAMES)?;
        Ok(config)
    }

    /// Reads the configuration from the environment:
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `SDE_ES_URL` | base URL of the cluster (required) | |
    /// | `SDE_ES_INDEX` | index or alias of the posts | `posts` |
    /// | `SDE_ES_USERNAME`, `SDE_ES_PASSWORD` | basic-auth credentials, both or neither | none |
    /// | `SDE_ES_MAX_BATCH_SIZE` | largest scroll page | 5000 |
    /// | `SDE_ES_REQUEST_TIMEOUT_SECS` | time one request may take | 30 |
    /// | `SDE_ES_SCROLL_KEEP_ALIVE_SECS` | scroll keep-alive between batches | 120 |
    ///
    /// On AWS the Lambda reads the password from an SSM SecureString at cold start and passes
    /// it in with [`Secret`]; `SDE_ES_PASSWORD` is for the local stack and tests.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any source of variables (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let names = ENV_NAMES;
        let get = |name: &'static str| lookup(name).filter(|value| !value.trim().is_empty());
        let url = get(names.url).ok_or(ConfigError::Missing {
            name: names.url,
            hint: "set it to the cluster's base URL, e.g. https://search-posts-abc.eu-west-1.es.amazonaws.com",
        })?;
        let mut config = EsConfig {
            url: parse_url(names.url, url.trim())?,
            index: get(names.index)
                .map_or_else(|| DEFAULT_INDEX.to_owned(), |i| i.trim().to_owned()),
            username: get(names.username),
            password: lookup(names.password).filter(|p| !p.is_empty()).map(Secret),
            max_batch_size: DEFAULT_MAX_BATCH_SIZE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            scroll_keep_alive: DEFAULT_SCROLL_KEEP_ALIVE,
        };
        if let Some(value) = get(names.max_batch_size) {
            config.max_batch_size = value
                .trim()
                .parse()
                .map_err(|_| invalid(names.max_batch_size, "must be a whole number above 0"))?;
        }
        if let Some(value) = get(names.request_timeout) {
            config.request_timeout = seconds(names.request_timeout, &value)?;
        }
        if let Some(value) = get(names.scroll_keep_alive) {
            config.scroll_keep_alive = seconds(names.scroll_keep_alive, &value)?;
        }
        config.check(names)?;
        Ok(config)
    }

    /// Checks every field: an `http` or `https` base URL without credentials in it, a valid
    /// index name, username and password both set or both unset (and only over `https`, unless
    /// the cluster is on this machine), sane batch size and durations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check(FIELD_NAMES)
    }

    fn check(&self, names: Names) -> Result<(), ConfigError> {
        check_url(names.url, &self.url)?;
        check_index_name(names.index, &self.index)?;
        match (&self.username, &self.password) {
            (None, None) => {}
            (Some(_), None) => {
                return Err(invalid(names.password, "must be set when the username is"));
            }
            (None, Some(_)) => {
                return Err(invalid(names.username, "must be set when the password is"));
            }
            (Some(username), Some(_)) => {
                if username.is_empty() || username.contains(':') {
                    return Err(invalid(names.username, "must be non-empty and hold no ':'"));
                }
                if self.url.scheme() != "https" && !is_loopback(&self.url) {
                    return Err(invalid(
                        names.url,
                        "must use https when credentials are set, or they would cross the network in clear text",
                    ));
                }
            }
        }
        if self.max_batch_size.get() > crate::MAX_RESULT_WINDOW as usize {
            return Err(invalid(
                names.max_batch_size,
                format!("must be at most {}", crate::MAX_RESULT_WINDOW),
            ));
        }
        if self.request_timeout.is_zero() {
            return Err(invalid(names.request_timeout, "must be above 0"));
        }
        if self.scroll_keep_alive.as_secs() == 0 || self.scroll_keep_alive.subsec_nanos() != 0 {
            return Err(invalid(
                names.scroll_keep_alive,
                "must be a whole number of seconds above 0",
            ));
        }
        Ok(())
    }

    /// The keep-alive as the cluster writes durations: `2m` for 120 s, `90s` for 90 s.
    pub(crate) fn keep_alive_param(&self) -> String {
        let secs = self.scroll_keep_alive.as_secs();
        if secs.is_multiple_of(60) {
            format!("{}m", secs / 60)
        } else {
            format!("{secs}s")
        }
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

fn seconds(name: &'static str, value: &str) -> Result<Duration, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(invalid(name, "must be a whole number of seconds above 0")),
    }
}

fn parse_url(name: &'static str, text: &str) -> Result<Url, ConfigError> {
    let mut url = Url::parse(text).map_err(|source| ConfigError::Url { name, source })?;
    // The client joins request paths onto this URL, which keeps a path prefix (a proxy in front
    // of the cluster) only if it ends with '/'.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn check_url(name: &'static str, url: &Url) -> Result<(), ConfigError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            name,
            "must start with https:// (or http:// for a local cluster)",
        ));
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid(name, "must name a host, e.g. https://host:9200"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            name,
            "must not hold credentials; set SDE_ES_USERNAME and SDE_ES_PASSWORD (or the config fields) instead",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(name, "must not have a query string or fragment"));
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// The rules Elasticsearch and OpenSearch apply to index names (checked here so a typo fails at
/// start-up rather than on the first search, and so the name is safe inside a URL path).
fn check_index_name(name: &'static str, index: &str) -> Result<(), ConfigError> {
    let valid = !index.is_empty()
        && index.len() <= 255
        && index != "."
        && index != ".."
        && !index.starts_with(['-', '_', '+'])
        && index.chars().all(|c| {
            !c.is_uppercase()
                && !c.is_whitespace()
                && !c.is_control()
                && !matches!(
                    c,
                    '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ',' | '#' | ':' | '%'
                )
        });
    if valid {
        Ok(())
    } else {
        Err(invalid(
            name,
            format!(
                "{index:?} is not an index name: use lowercase, no spaces or any of \\/*?\"<>|,#:%, not starting with - _ +"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<EsConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EsConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_environment_gives_url_index_and_credentials() {
        let config = from(&[
            (
                "SDE_ES_URL",
                "https://search-posts.eu-west-1.es.amazonaws.com",
            ),
            ("SDE_ES_INDEX", "posts-v2"),
            ("SDE_ES_USERNAME", "sde-reader"),
            ("SDE_ES_PASSWORD", "s3cret:pass"),
        ])
        .unwrap();
        assert_eq!(
            config.url.as_str(),
            "https://search-posts.eu-west-1.es.amazonaws.com/"
        );
        assert_eq!(config.index, "posts-v2");
        assert_eq!(config.username.as_deref(), Some("sde-reader"));
        assert_eq!(
            config.password.as_ref().map(Secret::expose),
            Some("s3cret:pass")
        );
        assert_eq!(config.keep_alive_param(), "2m");
    }

    #[test]
    fn only_the_url_is_required() {
        let config = from(&[("SDE_ES_URL", "http://localhost:9200")]).unwrap();
        assert_eq!(config.index, "posts");
        assert_eq!(config.username, None);
        assert_eq!(config.max_batch_size, DEFAULT_MAX_BATCH_SIZE);
    }

    #[test]
    fn the_password_never_prints() {
        let config = from(&[
            ("SDE_ES_URL", "https://es.example.com"),
            ("SDE_ES_USERNAME", "u"),
            ("SDE_ES_PASSWORD", "hunter2"),
        ])
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "SDE_ES_URL is not set"),
            (&[("SDE_ES_URL", "not a url")], "SDE_ES_URL is not a URL"),
            (
                &[("SDE_ES_URL", "ftp://es.example.com")],
                "SDE_ES_URL is invalid",
            ),
            (
                &[("SDE_ES_URL", "https://u:p@es.example.com")],
                "SDE_ES_URL is invalid: must not hold credentials",
            ),
            (
                &[
                    ("SDE_ES_URL", "https://es.example.com"),
                    ("SDE_ES_INDEX", "Posts"),
                ],
                "SDE_ES_INDEX is invalid",
            ),
            (
                &[
                    ("SDE_ES_URL", "https://es.example.com"),
                    ("SDE_ES_INDEX", "a/b"),
                ],
                "SDE_ES_INDEX is invalid",
            ),
            (
                &[
                    ("SDE_ES_URL", "https://es.example.com"),
                    ("SDE_ES_USERNAME", "u"),
                ],
                "SDE_ES_PASSWORD is invalid",
            ),
            (
                &[
                    ("SDE_ES_URL", "https://es.example.com"),
                    ("SDE_ES_PASSWORD", "p"),
                ],
                "SDE_ES_USERNAME is invalid",
            ),
            (
                &[
                    ("SDE_ES_URL", "http://es.example.com"),
                    ("SDE_ES_USERNAME", "u"),
                    ("SDE_ES_PASSWORD", "p"),
                ],
                "SDE_ES_URL is invalid: must use https",
            ),
            (
                &[
                    ("SDE_ES_URL", "https://es.example.com"),
                    ("SDE_ES_MAX_BATCH_SIZE", "0"),
                ],
                "SDE_ES_MAX_BATCH_SIZE is invalid",
            ),
            (
                &[
                    ("SDE_ES_URL", "https://es.example.com"),
                    ("SDE_ES_MAX_BATCH_SIZE", "20000"),
                ],
                "SDE_ES_MAX_BATCH_SIZE is invalid: must be at most 10000",
            ),
            (
                &[
                    ("SDE_ES_URL", "https://es.example.com"),
                    ("SDE_ES_SCROLL_KEEP_ALIVE_SECS", "soon"),
                ],
                "SDE_ES_SCROLL_KEEP_ALIVE_SECS is invalid",
            ),
        ];
        for (vars, expected) in cases {
            let error = from(vars).unwrap_err().to_string();
            assert!(
                error.starts_with(expected),
                "{vars:?} gave {error:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn credentials_may_go_in_clear_text_only_to_this_machine() {
        for url in [
            "http://localhost:9200",
            "http://127.0.0.1:9200",
            "http://[::1]:9200",
        ] {
            let config = from(&[
                ("SDE_ES_URL", url),
                ("SDE_ES_USERNAME", "elastic"),
                ("SDE_ES_PASSWORD", "changeme"),
            ]);
            assert!(config.is_ok(), "{url}: {config:?}");
        }
    }

    #[test]
    fn a_path_prefix_keeps_its_trailing_slash() {
        let config = EsConfig::new("https://proxy.example.com/es").unwrap();
        assert_eq!(config.url.as_str(), "https://proxy.example.com/es/");
    }

    #[test]
    fn keep_alive_is_written_in_minutes_when_whole() {
        let mut config = EsConfig::new("http://localhost:9200").unwrap();
        config.scroll_keep_alive = Duration::from_secs(90);
        assert_eq!(config.keep_alive_param(), "90s");
        config.scroll_keep_alive = Duration::from_secs(300);
        assert_eq!(config.keep_alive_param(), "5m");
    }
}
