//! A secret (a password, a key read at start-up) in a type that never prints it: `Debug` and
//! `Display` show `<redacted>`, so a secret inside a logged config or error stays out of the logs.

use std::fmt;

/// A secret value. Its `Debug` is `Secret(<redacted>)` and its `Display` is `<redacted>`; only
/// [`expose`](Self::expose) gives the value, at the one place it leaves the process (an
/// `Authorization` header, a signing key).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself: pass it on, never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    #[allow(dead_code)]
    struct Config {
        user: &'static str,
        password: Secret,
    }

    #[test]
    fn a_secret_never_prints_its_value() {
        let secret = Secret::new("hunter2");
        for shown in [
            format!("{secret}"),
            format!("{secret:?}"),
            format!("{secret:#?}"),
            format!("{:?}", Some(&secret)),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }

    #[test]
    fn a_secret_inside_a_logged_struct_stays_hidden() {
        let config = Config {
            user: "sde-reader",
            password: Secret::from("pa:ss w0rd"),
        };
        let shown = format!("{config:?} {config:#?}");
        assert!(shown.contains("sde-reader"), "{shown}");
        assert!(!shown.contains("w0rd"), "{shown}");
    }

    #[test]
    fn expose_gives_the_value_unchanged() {
        assert_eq!(Secret::new(" spaced ").expose(), " spaced ");
        assert_eq!(Secret::from(String::from("p%40ss")).expose(), "p%40ss");
        assert_eq!(Secret::new("a"), Secret::from("a"));
    }
}
