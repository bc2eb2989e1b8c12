//! Where the cluster is and how to talk to it: typed, validated once at start-up, with the
//! password in a type that never prints.

use crate::index_name::check_index_name;
use elasticsearch::http::Url;
use sde_core::settings::{Settings, SettingsError};
use std::num::NonZeroUsize;
use std::time::Duration;

pub use sde_core::Secret;

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
/// Longest request timeout accepted from the environment (an hour).
const MAX_REQUEST_TIMEOUT_SECS: u64 = 3_600;
/// Longest scroll keep-alive accepted from the environment: a day, the clusters' own default
/// `search.max_keep_alive`.
const MAX_SCROLL_KEEP_ALIVE_SECS: u64 = 86_400;

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
    /// Which engine the cluster runs, for the one API that differs between them: point in time
    /// (sliced exports, [`Engine`]).
    pub engine: Engine,
}

/// The engine behind the URL. Searches, scrolls and writes are the same on both; only the
/// point-in-time API of sliced exports differs (paths, bodies, and the sort that pages through
/// it), so this is all the configuration says about the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// OpenSearch 2.4+ (Amazon OpenSearch Service): `POST /<index>/_search/point_in_time`,
    /// `DELETE /_search/point_in_time`, pages sorted by `_doc`.
    #[default]
    OpenSearch,
    /// Elasticsearch 7.12+ and 8.x: `POST /<index>/_pit`, `DELETE /_pit`, pages sorted by
    /// `_shard_doc`.
    Elasticsearch,
}

impl Engine {
    /// The short name used in settings and snapshot ids.
    pub fn name(self) -> &'static str {
        match self {
            Engine::OpenSearch => "opensearch",
            Engine::Elasticsearch => "elasticsearch",
        }
    }

    /// The engine called `name` ([`name`](Self::name)), if any.
    pub fn from_name(name: &str) -> Option<Engine> {
        match name {
            "opensearch" => Some(Engine::OpenSearch),
            "elasticsearch" => Some(Engine::Elasticsearch),
            _ => None,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is missing or wrong; the error names the environment variable (from
    /// [`EsConfig::from_env`]) or the field (from [`EsConfig::validate`]).
    #[error(transparent)]
    Setting(#[from] SettingsError),
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
    engine: &'static str,
}

const FIELD_NAMES: Names = Names {
    url: "url",
    index: "index",
    username: "username",
    password: "password",
    max_batch_size: "max_batch_size",
    request_timeout: "request_timeout",
    scroll_keep_alive: "scroll_keep_alive",
    engine: "engine",
};

const ENV_NAMES: Names = Names {
    url: "SDE_ES_URL",
    index: "SDE_ES_INDEX",
    username: "SDE_ES_USERNAME",
    password: "SDE_ES_PASSWORD",
    max_batch_size: "SDE_ES_MAX_BATCH_SIZE",
    request_timeout: "SDE_ES_REQUEST_TIMEOUT_SECS",
    scroll_keep_alive: "SDE_ES_SCROLL_KEEP_ALIVE_SECS",
    engine: "SDE_ES_ENGINE",
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
            engine: Engine::default(),
        };
        config.validate()?;
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
    /// | `SDE_ES_ENGINE` | `opensearch` or `elasticsearch`: which point-in-time API sliced exports use | `opensearch` |
    ///
    /// On AWS the Lambda reads the password from an SSM SecureString at cold start and passes
    /// it in with [`Secret`]; `SDE_ES_PASSWORD` is for the local stack and tests.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(sde_core::settings::env)
    }

    /// [`from_env`](Self::from_env) over any source of variables (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let names = ENV_NAMES;
        let settings = Settings(lookup);
        let url = settings.required(
            names.url,
            "https://search-posts-abc.eu-west-1.es.amazonaws.com (the cluster's base URL)",
        )?;
        let max_batch_size = settings.number(
            names.max_batch_size,
            DEFAULT_MAX_BATCH_SIZE.get(),
            1..=crate::MAX_RESULT_WINDOW as usize,
        )?;
        let config = EsConfig {
            url: parse_url(names.url, &url)?,
            index: settings
                .optional(names.index)
                .unwrap_or_else(|| DEFAULT_INDEX.to_owned()),
            username: settings.optional(names.username),
            password: settings.secret(names.password),
            max_batch_size: NonZeroUsize::new(max_batch_size).unwrap_or(DEFAULT_MAX_BATCH_SIZE),
            request_timeout: settings.seconds(
                names.request_timeout,
                DEFAULT_REQUEST_TIMEOUT,
                1..=MAX_REQUEST_TIMEOUT_SECS,
            )?,
            scroll_keep_alive: settings.seconds(
                names.scroll_keep_alive,
                DEFAULT_SCROLL_KEEP_ALIVE,
                1..=MAX_SCROLL_KEEP_ALIVE_SECS,
            )?,
            engine: match settings.optional(names.engine) {
                None => Engine::default(),
                Some(name) => Engine::from_name(&name.to_ascii_lowercase())
                    .ok_or_else(|| invalid(names.engine, "must be opensearch or elasticsearch"))?,
            },
        };
        config.check(names)?;
        Ok(config)
    }

    /// A configuration for the cluster at `url`, which may carry basic-auth credentials the way
    /// command lines and test variables write them (`https://user:pass@host:9200`, with `%XX`
    /// escapes for `@`, `:` or `%` in them): the credentials move to
    /// [`username`](Self::username) and [`password`](Self::password), decoded, and leave the URL,
    /// so they never reach a request line or a log. Every other field is at its default.
    pub fn from_url_with_credentials(url: &str) -> Result<Self, ConfigError> {
        let name = FIELD_NAMES.url;
        let mut url = parse_url(name, url)?;
        let username = decode_userinfo(url.username());
        let password = url.password().map(|p| Secret::new(decode_userinfo(p)));
        if url.set_username("").is_err() || url.set_password(None).is_err() {
            return Err(invalid(name, "must name a host, e.g. https://host:9200").into());
        }
        let mut config = EsConfig::new(url.as_str())?;
        if !username.is_empty() {
            config.username = Some(username);
            // `https://user@host` is a user with an empty password.
            config.password = Some(password.unwrap_or_else(|| Secret::new("")));
        } else if password.as_ref().is_some_and(|p| !p.expose().is_empty()) {
            config.password = password;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every field: an `http` or `https` base URL without credentials in it, a valid
    /// index name, username and password both set or both unset (and only over `https`, unless
    /// the cluster is on this machine), sane batch size and durations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        Ok(self.check(FIELD_NAMES)?)
    }

    fn check(&self, names: Names) -> Result<(), SettingsError> {
        check_url(names.url, &self.url)?;
        check_index_name(&self.index)
            .map_err(|error| SettingsError::new(names.index, error.to_string()))?;
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

fn invalid(name: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError::new(name, reason)
}

fn parse_url(name: &'static str, text: &str) -> Result<Url, SettingsError> {
    // The error does not repeat the text: it may hold a password.
    let mut url = Url::parse(text.trim()).map_err(|source| {
        SettingsError::new(name, "must be a URL such as https://host:9200").with_source(source)
    })?;
    // The client joins request paths onto this URL, which keeps a path prefix (a proxy in front
    // of the cluster) only if it ends with '/'.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Decodes the `%XX` escapes of URL userinfo; an escape that is not one stays as written.
fn decode_userinfo(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn check_url(name: &'static str, url: &Url) -> Result<(), SettingsError> {
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
    fn the_engine_is_opensearch_unless_set() {
        let url = ("SDE_ES_URL", "https://es.example.com");
        assert_eq!(from(&[url]).unwrap().engine, Engine::OpenSearch);
        let es = from(&[url, ("SDE_ES_ENGINE", "Elasticsearch")]).unwrap();
        assert_eq!(es.engine, Engine::Elasticsearch);
        let error = from(&[url, ("SDE_ES_ENGINE", "solr")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "SDE_ES_ENGINE: must be opensearch or elasticsearch"
        );
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

    /// Variables set, the variable the error must name, and how its message must start.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

    #[test]
    fn bad_values_name_their_variable() {
        let https = ("SDE_ES_URL", "https://es.example.com");
        let cases: &[Case] = &[
            (&[], "SDE_ES_URL", "SDE_ES_URL: must be set, e.g. https://"),
            (
                &[("SDE_ES_URL", "not a url")],
                "SDE_ES_URL",
                "SDE_ES_URL: must be a URL such as https://host:9200",
            ),
            (
                &[("SDE_ES_URL", "ftp://es.example.com")],
                "SDE_ES_URL",
                "SDE_ES_URL: must start with https://",
            ),
            (
                &[("SDE_ES_URL", "https://u:p@es.example.com")],
                "SDE_ES_URL",
                "SDE_ES_URL: must not hold credentials",
            ),
            (
                &[https, ("SDE_ES_INDEX", "Posts")],
                "SDE_ES_INDEX",
                "SDE_ES_INDEX: \"Posts\" is not an index name: it must be lowercase",
            ),
            (
                &[https, ("SDE_ES_INDEX", "a/b")],
                "SDE_ES_INDEX",
                "SDE_ES_INDEX: \"a/b\" is not an index name",
            ),
            (
                &[https, ("SDE_ES_INDEX", "100%")],
                "SDE_ES_INDEX",
                "SDE_ES_INDEX: \"100%\" is not an index name: it must not contain %",
            ),
            (
                &[https, ("SDE_ES_USERNAME", "u")],
                "SDE_ES_PASSWORD",
                "SDE_ES_PASSWORD: must be set when the username is",
            ),
            (
                &[https, ("SDE_ES_PASSWORD", "p")],
                "SDE_ES_USERNAME",
                "SDE_ES_USERNAME: must be set when the password is",
            ),
            (
                &[
                    ("SDE_ES_URL", "http://es.example.com"),
                    ("SDE_ES_USERNAME", "u"),
                    ("SDE_ES_PASSWORD", "p"),
                ],
                "SDE_ES_URL",
                "SDE_ES_URL: must use https",
            ),
            (
                &[https, ("SDE_ES_MAX_BATCH_SIZE", "0")],
                "SDE_ES_MAX_BATCH_SIZE",
                "SDE_ES_MAX_BATCH_SIZE: must be between 1 and 10000, got 0",
            ),
            (
                &[https, ("SDE_ES_MAX_BATCH_SIZE", "20000")],
                "SDE_ES_MAX_BATCH_SIZE",
                "SDE_ES_MAX_BATCH_SIZE: must be between 1 and 10000, got 20000",
            ),
            (
                &[https, ("SDE_ES_REQUEST_TIMEOUT_SECS", "0")],
                "SDE_ES_REQUEST_TIMEOUT_SECS",
                "SDE_ES_REQUEST_TIMEOUT_SECS: must be between 1 and 3600 seconds",
            ),
            (
                &[https, ("SDE_ES_SCROLL_KEEP_ALIVE_SECS", "soon")],
                "SDE_ES_SCROLL_KEEP_ALIVE_SECS",
                "SDE_ES_SCROLL_KEEP_ALIVE_SECS: must be a whole number of seconds",
            ),
        ];
        for (vars, variable, expected) in cases {
            let error = from(vars).unwrap_err();
            let ConfigError::Setting(setting) = &error else {
                panic!("{vars:?} gave {error:?}");
            };
            assert_eq!(setting.variable, *variable, "{vars:?}");
            let message = error.to_string();
            assert!(
                message.starts_with(expected),
                "{vars:?} gave {message:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn a_url_that_does_not_parse_is_not_repeated_in_the_error() {
        let error = from(&[("SDE_ES_URL", "https://user:hunter2@exa mple.com")]).unwrap_err();
        assert!(
            !format!("{error} {error:?}").contains("hunter2"),
            "{error:?}"
        );
        assert!(
            std::error::Error::source(&error).is_some(),
            "the parse error is kept"
        );
    }

    #[test]
    fn credentials_in_a_url_move_to_the_credential_fields_decoded() {
        let config =
            EsConfig::from_url_with_credentials("http://elastic:p%40ss:w%25rd@127.0.0.1:9200/es")
                .unwrap();
        assert_eq!(config.url.as_str(), "http://127.0.0.1:9200/es/");
        assert_eq!(config.username.as_deref(), Some("elastic"));
        assert_eq!(
            config.password.as_ref().map(Secret::expose),
            Some("p@ss:w%rd")
        );
        assert!(!format!("{config:?}").contains("p@ss"));

        let bare = EsConfig::from_url_with_credentials("https://es.example.com").unwrap();
        assert_eq!((bare.username, bare.password), (None, None));
        let no_password =
            EsConfig::from_url_with_credentials("https://reader@es.example.com").unwrap();
        assert_eq!(no_password.password.as_ref().map(Secret::expose), Some(""));
        // A stray `%` is no escape and stays as written.
        let stray = EsConfig::from_url_with_credentials("https://u:100%@es.example.com").unwrap();
        assert_eq!(stray.password.as_ref().map(Secret::expose), Some("100%"));
    }

    #[test]
    fn credentials_in_a_url_still_go_only_over_https_or_to_this_machine() {
        let error = EsConfig::from_url_with_credentials("http://elastic:changeme@es.internal:9200")
            .unwrap_err();
        assert!(
            error.to_string().starts_with("url: must use https"),
            "{error}"
        );
        assert!(!format!("{error:?}").contains("changeme"));
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
