//! The page to try the local stack in a browser: sign in with the development issuer, search,
//! page through the results and export them directly, by email or over the push WebSocket; add
//! a post; subscribe to a search daily or in real time and delete subscriptions. The links the
//! subscription emails carry land here: `/?search=<term>` runs that search once signed in, and
//! `/?unsubscribe=true` opens the list of subscriptions.
//!
//! Plain HTML, CSS and an ES module, committed under `crates/sde-local/page/` and embedded into
//! the binary, so the page works offline (no CDN) and always matches the API it is served with.
//! Every response carries a strict Content-Security-Policy: the page loads nothing but these
//! three files and talks to nothing but its own origin (REST and WebSocket).
//!
//! There is deliberately no route for the email outbox: a link cannot carry a bearer token, so
//! serving `.eml` files from a link would hand anyone who learns a file name another user's
//! signed download URL. The page says instead where the message went and, in local mode, that
//! a copy sits in the data directory's `outbox/` folder.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The page's markup.
const INDEX_HTML: &str = include_str!("../page/index.html");
/// The page's script, an ES module with no dependencies.
const APP_JS: &str = include_str!("../page/app.js");
/// The page's style sheet.
const STYLE_CSS: &str = include_str!("../page/style.css");

/// Sent with every file of the page: only this origin's scripts, styles and connections
/// (`ws:`/`wss:` for the push WebSocket, whose scheme `'self'` does not cover in every browser),
/// images only from here or `data:` URLs, and never inside a frame.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

/// `GET /`: the page.
pub async fn index_route() -> Response {
    asset(INDEX_HTML, "text/html; charset=utf-8")
}

/// `GET /app.js`: the page's script.
pub async fn app_js_route() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

/// `GET /style.css`: the page's style sheet.
pub async fn style_css_route() -> Response {
    asset(STYLE_CSS, "text/css; charset=utf-8")
}

/// One embedded file with its content type and the security headers.
fn asset(body: &'static str, content_type: &'static str) -> Response {
    let headers: [(HeaderName, HeaderValue); 6] = [
        (CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        ),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        // Revalidate every time, so a rebuilt binary's page is never mixed with a stale script.
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_file_has_its_type_and_the_policy() {
        for (response, mime) in [
            (index_route().await, "text/html"),
            (app_js_route().await, "text/javascript"),
            (style_css_route().await, "text/css"),
        ] {
            let headers = response.headers();
            let content_type = headers[CONTENT_TYPE].to_str().unwrap();
            assert!(content_type.starts_with(mime), "{content_type}");
            assert_eq!(
                headers[CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY_VALUE
            );
            assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for text in [INDEX_HTML, APP_JS, STYLE_CSS] {
            assert!(!text.contains("https://"), "the page must work offline");
            assert!(!text.contains("http://"), "the page must work offline");
        }
        assert!(INDEX_HTML.contains(r#"<script type="module" src="/app.js"></script>"#));
        assert!(INDEX_HTML.contains(r#"<link rel="stylesheet" href="/style.css">"#));
        // Inline scripts, styles and handlers would be blocked by the policy.
        assert!(!INDEX_HTML.contains("<style"));
        assert!(!INDEX_HTML.contains(" style="));
        assert!(!INDEX_HTML.contains(" onclick="));
    }
}
