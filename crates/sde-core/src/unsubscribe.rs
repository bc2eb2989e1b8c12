//! One-click unsubscribe links (RFC 8058): every subscription email carries links that remove a
//! subscription without signing in — the link is the credential —
//! `<api>/unsubscribe?user=<sub>&kind=<daily|real-time>&term=<term>&expires=<unix>&sig=<hex>`
//! for one term (beside each term in the email), or `…&scope=all&…` in place of `term` for every
//! subscription of that kind (the `List-Unsubscribe` header: a mail client's "unsubscribe" means
//! "no more of these emails", and one email may be about several terms).
//!
//! The signature (HMAC-SHA256) covers the user, the kind, the scope and the expiry, with a key
//! derived for this purpose alone from the key that signs download links, so a download link can
//! never be passed off as an unsubscribe link or the other way round. A link lasts
//! [`UNSUBSCRIBE_LINK_LIFETIME`]: long enough for an email read late, short enough that a
//! forwarded old email stops working; after that the email's "manage subscriptions" link (which
//! signs in) still works.

use crate::links::{SigningKey, UrlRefusal, mac_of_fields, query_fields};
use crate::subscriptions::{SubscriptionKind, SubscriptionTerm};
use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::Mac;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The route unsubscribe links point to.
pub const UNSUBSCRIBE_ROUTE: &str = "/unsubscribe";

/// How long an unsubscribe link works after the email is sent.
pub const UNSUBSCRIBE_LINK_LIFETIME: Duration = Duration::days(60);

/// Characters left as they are in a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Which of a user's subscriptions of one kind a link removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsubscribeScope {
    /// The one subscription to this term (compared normalised).
    Term(SubscriptionTerm),
    /// Every subscription of the kind.
    All,
}

impl UnsubscribeScope {
    /// What the link signs for the scope: the two forms can never sign the same bytes.
    fn signed(&self) -> String {
        match self {
            UnsubscribeScope::Term(term) => format!("term:{}", term.text()),
            UnsubscribeScope::All => "all".to_owned(),
        }
    }
}

/// What a valid unsubscribe link grants: removing `user`'s subscriptions of `kind` in `scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeGrant {
    pub user: String,
    pub kind: SubscriptionKind,
    pub scope: UnsubscribeScope,
    pub expires_at: DateTime<Utc>,
}

/// Issues and checks unsubscribe links to [`UNSUBSCRIBE_ROUTE`] under the API's public URL.
#[derive(Debug, Clone)]
pub struct UnsubscribeLinks {
    key: SigningKey,
    base_url: String,
}

impl UnsubscribeLinks {
    /// Links under `base_url`, signed with a key derived from `key` (the download links' key).
    pub fn new(key: &SigningKey, base_url: &str) -> Self {
        UnsubscribeLinks {
            key: key.derive("unsubscribe links"),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The link removing `user`'s `kind` subscriptions in `scope`, valid for
    /// [`UNSUBSCRIBE_LINK_LIFETIME`] from `now`.
    pub fn issue(
        &self,
        user: &str,
        kind: SubscriptionKind,
        scope: &UnsubscribeScope,
        now: DateTime<Utc>,
    ) -> String {
        let expires = (now + UNSUBSCRIBE_LINK_LIFETIME).timestamp();
        let signature = self.signature(user, kind, scope, expires);
        let scope = match scope {
            UnsubscribeScope::Term(term) => {
                format!("term={}", utf8_percent_encode(term.text(), QUERY_VALUE))
            }
            UnsubscribeScope::All => "scope=all".to_owned(),
        };
        format!(
            "{}{UNSUBSCRIBE_ROUTE}?user={}&kind={}&{scope}&expires={expires}&sig={signature}",
            self.base_url,
            utf8_percent_encode(user, QUERY_VALUE),
            kind.as_str(),
        )
    }

    /// Checks the raw query string of a request to [`UNSUBSCRIBE_ROUTE`] at `now`.
    pub fn check(&self, query: &str, now: DateTime<Utc>) -> Result<UnsubscribeGrant, UrlRefusal> {
        let [user, kind, term, all, expires, signature] =
            query_fields(query, ["user", "kind", "term", "scope", "expires", "sig"])?;
        let (Some(user), Some(kind), Some(expires), Some(signature)) =
            (user, kind, expires, signature)
        else {
            return Err(UrlRefusal::Malformed);
        };
        let scope = match (term, all.as_deref()) {
            // A term we signed is valid; one that no longer parses was not ours.
            (Some(term), None) => UnsubscribeScope::Term(
                SubscriptionTerm::parse(&term).map_err(|_| UrlRefusal::Malformed)?,
            ),
            (None, Some("all")) => UnsubscribeScope::All,
            _ => return Err(UrlRefusal::Malformed),
        };
        let kind = SubscriptionKind::ALL
            .into_iter()
            .find(|known| known.as_str() == kind)
            .ok_or(UrlRefusal::Malformed)?;
        let expires: i64 = expires.parse().map_err(|_| UrlRefusal::Malformed)?;
        let signature = hex::decode(signature).map_err(|_| UrlRefusal::BadSignature)?;
        self.mac(&user, kind, &scope, expires)
            .verify_slice(&signature)
            .map_err(|_| UrlRefusal::BadSignature)?;
        let expires_at = Utc
            .timestamp_opt(expires, 0)
            .single()
            .ok_or(UrlRefusal::Malformed)?;
        if now >= expires_at {
            return Err(UrlRefusal::Expired);
        }
        Ok(UnsubscribeGrant {
            user,
            kind,
            scope,
            expires_at,
        })
    }

    fn signature(
        &self,
        user: &str,
        kind: SubscriptionKind,
        scope: &UnsubscribeScope,
        expires: i64,
    ) -> String {
        hex::encode(self.mac(user, kind, scope, expires).finalize().into_bytes())
    }

    fn mac(
        &self,
        user: &str,
        kind: SubscriptionKind,
        scope: &UnsubscribeScope,
        expires: i64,
    ) -> hmac::Hmac<sha2::Sha256> {
        mac_of_fields(
            &self.key,
            &[
                user.as_bytes(),
                kind.as_str().as_bytes(),
                scope.signed().as_bytes(),
                expires.to_string().as_bytes(),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::DownloadLinks;
    use crate::store::{ContentInfo, Disposition, ObjectKey};

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap()
    }

    fn query(url: &str) -> &str {
        url.split_once('?').unwrap().1
    }

    #[test]
    fn a_link_grants_removing_the_one_subscription_it_names_until_it_expires() {
        let links = UnsubscribeLinks::new(&SigningKey::generate(), "https://api.example/prod/");
        let term = SubscriptionTerm::parse("Hot dog & 100% #fun").unwrap();
        let url = links.issue(
            "user 1/ü",
            SubscriptionKind::RealTime,
            &UnsubscribeScope::Term(term.clone()),
            now(),
        );
        assert!(url.starts_with("https://api.example/prod/unsubscribe?user=user%201%2F%C3%BC&"));
        let grant = links.check(query(&url), now()).unwrap();
        assert_eq!(grant.user, "user 1/ü");
        assert_eq!(grant.kind, SubscriptionKind::RealTime);
        assert_eq!(grant.scope, UnsubscribeScope::Term(term));
        let almost = now() + UNSUBSCRIBE_LINK_LIFETIME - Duration::seconds(1);
        assert!(links.check(query(&url), almost).is_ok());
        assert_eq!(
            links.check(query(&url), now() + UNSUBSCRIBE_LINK_LIFETIME),
            Err(UrlRefusal::Expired)
        );
    }

    #[test]
    fn a_link_changed_in_any_field_or_signed_with_another_key_is_refused() {
        let key = SigningKey::generate();
        let links = UnsubscribeLinks::new(&key, "https://api.example");
        let term = SubscriptionTerm::parse("dog").unwrap();
        let url = links.issue(
            "u1",
            SubscriptionKind::Daily,
            &UnsubscribeScope::Term(term.clone()),
            now(),
        );
        let q = query(&url);
        for (from, to) in [
            ("user=u1", "user=u2"),
            ("kind=daily", "kind=real-time"),
            ("term=dog", "term=hot%20dog"),
            ("term=dog", "scope=all"),
            ("expires=1", "expires=2"),
        ] {
            assert!(q.contains(from), "{from}");
            assert_eq!(
                links.check(&q.replacen(from, to, 1), now()),
                Err(UrlRefusal::BadSignature),
                "{from} → {to}"
            );
        }
        let other = UnsubscribeLinks::new(&SigningKey::generate(), "https://api.example");
        assert_eq!(other.check(q, now()), Err(UrlRefusal::BadSignature));
        for broken in [
            "",
            "user=u1",
            &format!("{q}&user=u1"),
            &q.replace("kind=daily", "kind=weekly"),
        ] {
            assert_eq!(
                links.check(broken, now()),
                Err(UrlRefusal::Malformed),
                "{broken}"
            );
        }
    }

    #[test]
    fn a_link_may_remove_every_subscription_of_its_kind() {
        let links = UnsubscribeLinks::new(&SigningKey::generate(), "https://api.example");
        let url = links.issue("u1", SubscriptionKind::Daily, &UnsubscribeScope::All, now());
        assert!(url.contains("&scope=all&"), "{url}");
        let grant = links.check(query(&url), now()).unwrap();
        assert_eq!(grant.scope, UnsubscribeScope::All);
        assert_eq!(grant.kind, SubscriptionKind::Daily);
        // Narrowed to a term, or given both, it is refused.
        assert_eq!(
            links.check(&query(&url).replace("scope=all", "term=all"), now()),
            Err(UrlRefusal::BadSignature)
        );
        assert_eq!(
            links.check(&query(&url).replace("scope=all", "scope=all&term=x"), now()),
            Err(UrlRefusal::Malformed)
        );
    }

    #[test]
    fn a_download_signature_does_not_unsubscribe() {
        // Both kinds of link are signed from one stored secret; the derived key keeps them apart.
        let key = SigningKey::generate();
        let downloads = DownloadLinks::new(key.clone(), "https://api.example");
        let link = downloads.issue(
            &ObjectKey::new("exports/u1/run.csv").unwrap(),
            &ContentInfo {
                content_type: "text/csv".into(),
                download_name: "a.csv".into(),
                disposition: Disposition::Attachment,
            },
            now(),
        );
        let download_sig = link.expose().rsplit_once("sig=").unwrap().1.to_owned();
        let links = UnsubscribeLinks::new(&key, "https://api.example");
        let term = SubscriptionTerm::parse("dog").unwrap();
        let url = links.issue(
            "u1",
            SubscriptionKind::Daily,
            &UnsubscribeScope::Term(term.clone()),
            now(),
        );
        let (unsigned, _) = query(&url).rsplit_once("sig=").unwrap();
        assert_eq!(
            links.check(&format!("{unsigned}sig={download_sig}"), now()),
            Err(UrlRefusal::BadSignature)
        );
        // Nor does a link signed with the stored secret itself rather than the derived key.
        let raw = UnsubscribeLinks {
            key,
            base_url: "https://api.example".into(),
        };
        let raw_url = raw.issue(
            "u1",
            SubscriptionKind::Daily,
            &UnsubscribeScope::Term(term),
            now(),
        );
        assert_eq!(
            links.check(query(&raw_url), now()),
            Err(UrlRefusal::BadSignature)
        );
    }
}
