//! `GET` and `POST /unsubscribe?user&kind&term&expires&sig`: the one-click unsubscribe link of a
//! subscription email (RFC 8058). It needs no sign-in — the signed link is the credential.
//!
//! - `POST` removes the one subscription the link names, and answers a page saying so. A mail
//!   client's one-click POST (body `List-Unsubscribe=One-Click`) and the button of the `GET` page
//!   both land here; the body is not needed, since the link alone says what to remove.
//! - `GET` only shows that button: a link opened by a mail scanner or a preview must not
//!   unsubscribe anyone.
//!
//! A link that does not verify is answered 403, an expired one 410, each with a page pointing to
//! the site's subscription list. The link is never logged.

use super::downloads::{Clock, page};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use sde_core::{
    SubscriptionKind, SubscriptionMatcher, Subscriptions, UNSUBSCRIBE_LINK_LIFETIME,
    UNSUBSCRIBE_ROUTE, UnsubscribeGrant, UnsubscribeLinks, UnsubscribeScope, UrlRefusal,
    describe_chain, html,
};
use sde_handlers::unsubscribe_link::{LinkUnsubscribed, unsubscribe_by_link};
use std::fmt;
use std::sync::Arc;
use tracing::{error, info};

/// What the unsubscribe route checks links with and removes subscriptions from.
#[derive(Clone)]
pub struct Unsubscribes {
    pub store: Arc<dyn Subscriptions>,
    pub matcher: Arc<dyn SubscriptionMatcher>,
    pub links: Arc<UnsubscribeLinks>,
    /// The site whose `?unsubscribe=true` lists a signed-in user's subscriptions.
    pub site_url: String,
    pub clock: Clock,
}

impl Unsubscribes {
    /// Checks links against the real time.
    pub fn new(
        store: Arc<dyn Subscriptions>,
        matcher: Arc<dyn SubscriptionMatcher>,
        links: Arc<UnsubscribeLinks>,
        site_url: String,
    ) -> Self {
        Unsubscribes {
            store,
            matcher,
            links,
            site_url,
            clock: Arc::new(Utc::now),
        }
    }

    /// A sentence linking to the site's list of subscriptions, as HTML.
    fn manage(&self) -> String {
        format!(
            " <a href=\"{}\">Manage your subscriptions</a> after signing in.",
            html::escape(&format!(
                "{}/?unsubscribe=true",
                self.site_url.trim_end_matches('/')
            ))
        )
    }
}

impl fmt::Debug for Unsubscribes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unsubscribes")
            .field("store", &self.store)
            .field("site_url", &self.site_url)
            .finish_non_exhaustive()
    }
}

/// The unsubscribe route.
pub fn unsubscribe_routes(unsubscribes: Unsubscribes) -> Router {
    Router::new()
        .route(UNSUBSCRIBE_ROUTE, get(confirm).post(one_click))
        .with_state(unsubscribes)
}

/// How the subscriptions a link removes are named on the pages, escaped: `the daily digest for
/// “cats”`, `all your real-time alerts`.
fn described(grant: &UnsubscribeGrant) -> String {
    let kind = match grant.kind {
        SubscriptionKind::Daily => "daily digest",
        SubscriptionKind::RealTime => "real-time alerts",
    };
    match &grant.scope {
        UnsubscribeScope::Term(term) => format!("the {kind} for “{}”", html::escape(term.text())),
        UnsubscribeScope::All => match grant.kind {
            SubscriptionKind::Daily => "all your daily digests".to_owned(),
            SubscriptionKind::RealTime => "all your real-time alerts".to_owned(),
        },
    }
}

/// The page refusing a link: 410 for an expired one, 403 for one that is not ours.
fn refused(unsubscribes: &Unsubscribes, refusal: UrlRefusal) -> Response {
    if refusal == UrlRefusal::Expired {
        info!("expired unsubscribe link");
        return page(
            StatusCode::GONE,
            "This unsubscribe link has expired",
            &format!(
                "Unsubscribe links work for {} days.{}",
                UNSUBSCRIBE_LINK_LIFETIME.num_days(),
                unsubscribes.manage()
            ),
        );
    }
    info!(%refusal, "unsubscribe link refused");
    page(
        StatusCode::FORBIDDEN,
        "This unsubscribe link is not valid",
        &format!(
            "Copy the whole link from the email.{}",
            unsubscribes.manage()
        ),
    )
}

/// Checks the link of a request at the route's clock.
fn check(unsubscribes: &Unsubscribes, query: Option<&str>) -> Result<UnsubscribeGrant, UrlRefusal> {
    unsubscribes
        .links
        .check(query.unwrap_or(""), (unsubscribes.clock)())
}

async fn confirm(State(unsubscribes): State<Unsubscribes>, RawQuery(query): RawQuery) -> Response {
    let grant = match check(&unsubscribes, query.as_deref()) {
        Ok(grant) => grant,
        Err(refusal) => return refused(&unsubscribes, refusal),
    };
    // The form posts to this very URL (an empty action keeps the query), so the one-click POST
    // and the button do the same.
    page(
        StatusCode::OK,
        "Unsubscribe",
        &format!(
            "Stop {}?</p><form method=\"post\" action=\"\"><button type=\"submit\">Unsubscribe</button></form><p>{}",
            described(&grant),
            unsubscribes.manage()
        ),
    )
}

async fn one_click(
    State(unsubscribes): State<Unsubscribes>,
    RawQuery(query): RawQuery,
) -> Response {
    let grant = match check(&unsubscribes, query.as_deref()) {
        Ok(grant) => grant,
        Err(refusal) => return refused(&unsubscribes, refusal),
    };
    let matcher = unsubscribes.matcher.as_ref();
    match unsubscribe_by_link(unsubscribes.store.as_ref(), matcher, &grant).await {
        Ok(outcome) => {
            let done = match outcome {
                LinkUnsubscribed::Removed => "You will no longer receive",
                LinkUnsubscribed::AlreadyGone => "You had already stopped",
            };
            page(
                StatusCode::OK,
                "You are unsubscribed",
                &format!("{done} {}.{}", described(&grant), unsubscribes.manage()),
            )
        }
        Err(failure) => {
            error!(error = %describe_chain(&failure), "unsubscribing by link failed");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "We could not unsubscribe you right now",
                "Nothing was changed. Try the link again in a few minutes.",
            )
        }
    }
}
