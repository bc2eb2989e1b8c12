//! The emails subscribers get: the real-time notice of one post (and, later, the daily digest,
//! which reuses the pieces here). Each has an HTML and a plain-text part; every string a user
//! wrote (terms, post text, tags) is HTML-escaped in the HTML part and kept out of headers but for
//! the subject, where line breaks and control characters are removed. Each term links to its
//! search on the site, `<site>/?search=<url-encoded term>`, as the frontend reads it.
//!
//! Unsubscribe links (RFC 8058 `List-Unsubscribe` and `List-Unsubscribe-Post` headers, and a
//! footer link) are not made here yet: they belong in [`Footer`], which every notice ends with.

use crate::delivery::EmailMessage;
use crate::post::Post;
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

/// `text` safe inside HTML text and double- or single-quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

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
fn subject_line(text: &str) -> String {
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

/// How every notice ends. The place for the unsubscribe and manage-subscriptions links (and,
/// beside the message, the RFC 8058 headers) once they exist.
#[derive(Debug, Clone, Copy)]
pub struct Footer<'a> {
    /// The site's address, for the link to manage subscriptions.
    pub site: &'a str,
}

impl Footer<'_> {
    fn text(&self) -> String {
        format!(
            "You get this email because you subscribed to these searches in real time.\r\n\
             Manage your subscriptions: {}/?unsubscribe=true\r\n",
            self.site.trim_end_matches('/')
        )
    }

    fn html(&self) -> String {
        format!(
            "<p style=\"color:#666;font-size:small\">You get this email because you subscribed \
             to these searches in real time. <a href=\"{}\">Manage your subscriptions</a>.</p>",
            escape_html(&format!(
                "{}/?unsubscribe=true",
                self.site.trim_end_matches('/')
            ))
        )
    }
}

/// The real-time notice to `to` that `post` matched `terms` (the subscriber's terms as given;
/// at least one). `site` is the frontend's address, without a trailing path.
pub fn real_time_notice(to: &str, post: &Post, terms: &[String], site: &str) -> EmailMessage {
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
    text.push_str(&Footer { site }.text());

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
    html.push_str(&Footer { site }.html());

    EmailMessage {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::UserId;

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
            "https://sde.example.com/",
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
            "https://sde.example.com",
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
            "https://s",
        );
        assert_eq!(notice.subject.chars().count(), MAX_SUBJECT_CHARS);
        assert!(notice.subject.ends_with('…'));
    }
}
