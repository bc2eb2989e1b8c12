//! The emails subscribers get: the real-time notice of one post, and the pieces the daily digest
//! (`sde_handlers::digests`) reuses. Each has an HTML and a plain-text part; every string a user
//! wrote (terms, post text, tags) is HTML-escaped in the HTML part and kept out of headers but for
//! the subject, where line breaks and control characters are removed. Each term links to its
//! search on the site, `<site>/?search=<url-encoded term>`, as the frontend reads it.
//!
//! Every notice ends with a [`Footer`]: a one-click unsubscribe link beside each term and one to
//! manage subscriptions; and it carries the RFC 8058 `List-Unsubscribe` link, which stops every
//! subscription of the email's kind (a mail client's "unsubscribe" means "no more of these").

use crate::delivery::EmailMessage;
use crate::html::escape as escape_html;
use crate::post::Post;
use crate::subscriptions::{SubscriptionKind, SubscriptionTerm};
use crate::unsubscribe::{UnsubscribeLinks, UnsubscribeScope};
use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::fmt::Write as _;

/// What a query value keeps unencoded: RFC 3986 unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Longest subject, in characters, before it is cut with an ellipsis.
const MAX_SUBJECT_CHARS: usize = 120;

/// The site's search for `term`: `<site>/?search=<url-encoded term>`.
pub fn search_link(site: &str, term: &str) -> String {
    format!(
        "{}/?search={}",
        site.trim_end_matches('/'),
        utf8_percent_encode(term, QUERY_VALUE)
    )
}

/// `text` fit for a subject line: control characters (line breaks among them) become spaces,
/// and it is cut at [`MAX_SUBJECT_CHARS`].
pub fn subject_line(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= MAX_SUBJECT_CHARS {
        return clean;
    }
    let mut cut: String = clean.chars().take(MAX_SUBJECT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// How every notice ends, and the links it carries: one-click unsubscribe links for `user`'s
/// subscriptions of `kind`, signed by `unsubscribe`, valid from `now`, and the site's list of
/// subscriptions.
#[derive(Debug, Clone, Copy)]
pub struct Footer<'a> {
    /// The site's address, for search links and the link to manage subscriptions.
    pub site: &'a str,
    pub unsubscribe: &'a UnsubscribeLinks,
    /// The subscriber's `sub`.
    pub user: &'a str,
    pub kind: SubscriptionKind,
    pub now: DateTime<Utc>,
}

impl Footer<'_> {
    /// The link stopping every subscription of the footer's kind: the `List-Unsubscribe` link.
    pub fn unsubscribe_all(&self) -> String {
        self.unsubscribe
            .issue(self.user, self.kind, &UnsubscribeScope::All, self.now)
    }

    /// The link stopping the one subscription to `term`, if it is a valid term (terms come
    /// from the store, so they are).
    fn unsubscribe_term(&self, term: &str) -> Option<String> {
        let term = SubscriptionTerm::parse(term).ok()?;
        Some(self.unsubscribe.issue(
            self.user,
            self.kind,
            &UnsubscribeScope::Term(term),
            self.now,
        ))
    }

    fn manage(&self) -> String {
        format!("{}/?unsubscribe=true", self.site.trim_end_matches('/'))
    }

    fn why(&self) -> &'static str {
        match self.kind {
            SubscriptionKind::Daily => {
                "You get this email because you subscribed to these searches daily."
            }
            SubscriptionKind::RealTime => {
                "You get this email because you subscribed to these searches in real time."
            }
        }
    }

    /// The plain-text footer, with an unsubscribe link for each of `terms`.
    pub fn text(&self, terms: &[&str]) -> String {
        let mut text = format!("{}\r\n", self.why());
        for term in terms {
            if let Some(link) = self.unsubscribe_term(term) {
                let _ = write!(text, "Stop \u{201c}{term}\u{201d}: {link}\r\n");
            }
        }
        let _ = write!(text, "Manage your subscriptions: {}\r\n", self.manage());
        text
    }

    /// The HTML footer, with an unsubscribe link for each of `terms`.
    pub fn html(&self, terms: &[&str]) -> String {
        let mut html = format!(
            "<p style=\"color:#666;font-size:small\">{} Stop:",
            self.why()
        );
        for term in terms {
            if let Some(link) = self.unsubscribe_term(term) {
                let _ = write!(
                    html,
                    " <a href=\"{}\">\u{201c}{}\u{201d}</a>",
                    escape_html(&link),
                    escape_html(term)
                );
            }
        }
        let _ = write!(
            html,
            ". <a href=\"{}\">Manage your subscriptions</a>.</p>",
            escape_html(&self.manage())
        );
        html
    }
}

/// The real-time notice to `to` that `post` matched `terms` (the subscriber's terms as given;
/// at least one), ending with `footer` (of kind real-time).
pub fn real_time_notice(
    to: &str,
    post: &Post,
    terms: &[String],
    footer: &Footer<'_>,
) -> EmailMessage {
    let site = footer.site;
    let term_list: Vec<&str> = terms.iter().map(String::as_str).collect();
    let quoted: Vec<String> = terms
        .iter()
        .map(|term| format!("\u{201c}{term}\u{201d}"))
        .collect();
    let subject = subject_line(&format!("New post matching {}", quoted.join(", ")));
    let when = post.date_created.format("%Y-%m-%d %H:%M UTC");
    let tags = post.tags.join(" ");

    let mut text = String::from("A new post matches your real-time subscriptions:\r\n\r\n");
    for term in terms {
        let _ = write!(text, "  {term}: {}\r\n", search_link(site, term));
    }
    let _ = write!(text, "\r\nPosted {when}:\r\n\r\n");
    for line in post.content.lines() {
        let _ = write!(text, "    {line}\r\n");
    }
    if !tags.is_empty() {
        let _ = write!(text, "\r\nTags: {tags}\r\n");
    }
    text.push_str("\r\n-- \r\n");
    text.push_str(&footer.text(&term_list));

    let mut html = String::from("<p>A new post matches your real-time subscriptions:</p><ul>");
    for term in terms {
        let _ = write!(
            html,
            "<li><a href=\"{}\">{}</a></li>",
            escape_html(&search_link(site, term)),
            escape_html(term)
        );
    }
    let _ = write!(
        html,
        "</ul><p>Posted {when}:</p><blockquote style=\"white-space:pre-wrap\">{}</blockquote>",
        escape_html(&post.content)
    );
    if !tags.is_empty() {
        let _ = write!(html, "<p>Tags: {}</p>", escape_html(&tags));
    }
    html.push_str(&footer.html(&term_list));

    EmailMessage {
        to: to.to_owned(),
        subject,
        text,
        html,
        unsubscribe: Some(footer.unsubscribe_all()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::SigningKey;
    use crate::post::UserId;
    use crate::unsubscribe::UnsubscribeGrant;

    fn links() -> UnsubscribeLinks {
        UnsubscribeLinks::new(
            &SigningKey::from_bytes([7; 32]),
            "https://api.example.com/prod",
        )
    }

    fn footer<'a>(site: &'a str, links: &'a UnsubscribeLinks) -> Footer<'a> {
        Footer {
            site,
            unsubscribe: links,
            user: "u-1",
            kind: SubscriptionKind::RealTime,
            now: "2026-03-04T05:06:07Z".parse().unwrap(),
        }
    }

    fn post(content: &str, tags: &[&str]) -> Post {
        Post {
            id: "p-1".into(),
            user_id: UserId::Text("u-2".into()),
            date_created: "2026-03-04T05:06:07Z".parse().unwrap(),
            content: content.into(),
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        }
    }

    #[test]
    fn a_notice_names_each_term_with_its_search_link_and_the_post() {
        let notice = real_time_notice(
            "ada@example.com",
            &post("Aurora tonight\nover the bay", &["#aurora"]),
            &["aurora".into(), "northern lights".into()],
            &footer("https://sde.example.com/", &links()),
        );
        assert_eq!(notice.to, "ada@example.com");
        assert_eq!(
            notice.subject,
            "New post matching \u{201c}aurora\u{201d}, \u{201c}northern lights\u{201d}"
        );
        for part in [&notice.text, &notice.html] {
            assert!(
                part.contains("https://sde.example.com/?search=aurora"),
                "{part}"
            );
            assert!(
                part.contains("https://sde.example.com/?search=northern%20lights"),
                "{part}"
            );
            assert!(part.contains("over the bay"), "{part}");
            assert!(part.contains("#aurora"), "{part}");
            assert!(part.contains("2026-03-04 05:06 UTC"), "{part}");
        }
    }

    #[test]
    fn every_user_string_is_escaped_in_the_html_and_kept_out_of_the_headers() {
        let notice = real_time_notice(
            "ada@example.com",
            &post("<script>alert(1)</script> & \"friends\"", &["#<b>"]),
            &["<img src=x onerror=alert(1)>\r\nBcc: eve@example.com".into()],
            &footer("https://sde.example.com", &links()),
        );
        assert!(!notice.html.contains("<script>"), "{}", notice.html);
        assert!(!notice.html.contains("<img"), "{}", notice.html);
        assert!(!notice.html.contains("<b>"), "{}", notice.html);
        assert!(
            notice
                .html
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;")
        );
        assert!(
            !notice.subject.contains('\r') && !notice.subject.contains('\n'),
            "{:?}",
            notice.subject
        );
        assert!(
            notice
                .html
                .contains("?search=%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%0D%0ABcc"),
            "the term is url-encoded in its link: {}",
            notice.html
        );
    }

    #[test]
    fn a_long_subject_is_cut() {
        let notice = real_time_notice(
            "a@example.com",
            &post("x", &[]),
            &["y".repeat(500)],
            &footer("https://s", &links()),
        );
        assert_eq!(notice.subject.chars().count(), MAX_SUBJECT_CHARS);
        assert!(notice.subject.ends_with('…'));
    }

    #[test]
    fn a_notice_carries_its_unsubscribe_links() {
        let links = links();
        let footer = footer("https://sde.example.com", &links);
        let notice = real_time_notice(
            "ada@example.com",
            &post("Aurora tonight", &[]),
            &["aurora".into(), "Northern Lights".into()],
            &footer,
        );
        let check = |url: &str| -> UnsubscribeGrant {
            links
                .check(url.split_once('?').unwrap().1, footer.now)
                .unwrap()
        };
        let all = check(notice.unsubscribe.as_deref().unwrap());
        assert_eq!(
            (all.user.as_str(), all.kind),
            ("u-1", SubscriptionKind::RealTime)
        );
        assert_eq!(all.scope, UnsubscribeScope::All);
        let northern = notice
            .text
            .lines()
            .find_map(|line| line.strip_prefix("Stop \u{201c}Northern Lights\u{201d}: "))
            .unwrap();
        assert_eq!(
            check(northern).scope,
            UnsubscribeScope::Term(SubscriptionTerm::parse("Northern Lights").unwrap())
        );
        assert!(
            notice
                .html
                .contains("https://sde.example.com/?unsubscribe=true")
        );
        assert!(
            notice
                .text
                .contains("https://sde.example.com/?unsubscribe=true")
        );
    }
}
