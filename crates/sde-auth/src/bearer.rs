//! The token of an `Authorization` header: `Bearer <token>` (RFC 6750), or the bare token as
//! AWS Amplify sends it and API Gateway's Cognito authorizer accepts it.

use crate::AuthError;

/// Extracts the token from an `Authorization` header value (or a `token` query parameter):
/// `Bearer <token>`, the scheme case-insensitive, or the bare token. Surrounding whitespace is
/// ignored.
///
/// An empty value, or the scheme without a token, is [`AuthError::Missing`]; another scheme or a
/// token containing whitespace is [`AuthError::Malformed`].
pub fn bearer_token(header_value: &str) -> Result<&str, AuthError> {
    let value = header_value.trim();
    if value.is_empty() {
        return Err(AuthError::Missing);
    }
    let Some((scheme, token)) = value.split_once(char::is_whitespace) else {
        return if value.eq_ignore_ascii_case("bearer") {
            Err(AuthError::Missing)
        } else {
            Ok(value)
        };
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed);
    }
    let token = token.trim_start();
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    if token.contains(char::is_whitespace) {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_header_yields_its_token_whatever_the_scheme_case() {
        assert_eq!(bearer_token("Bearer abc.def.ghi").ok(), Some("abc.def.ghi"));
        assert_eq!(bearer_token("bearer abc").ok(), Some("abc"));
        assert_eq!(bearer_token("BEARER   abc  ").ok(), Some("abc"));
    }

    #[test]
    fn a_bare_token_is_the_token_as_amplify_sends_it() {
        assert_eq!(bearer_token("abc.def.ghi").ok(), Some("abc.def.ghi"));
        assert_eq!(bearer_token("  abc.def.ghi ").ok(), Some("abc.def.ghi"));
    }

    #[test]
    fn an_empty_header_or_a_bare_scheme_is_missing() {
        assert!(matches!(bearer_token(""), Err(AuthError::Missing)));
        assert!(matches!(bearer_token("   "), Err(AuthError::Missing)));
        assert!(matches!(bearer_token("Bearer"), Err(AuthError::Missing)));
        assert!(matches!(bearer_token("Bearer   "), Err(AuthError::Missing)));
    }

    #[test]
    fn another_scheme_or_a_token_with_spaces_is_malformed() {
        assert!(matches!(
            bearer_token("Basic dXNlcjpwdw=="),
            Err(AuthError::Malformed)
        ));
        assert!(matches!(
            bearer_token("Bearer abc def"),
            Err(AuthError::Malformed)
        ));
    }
}
