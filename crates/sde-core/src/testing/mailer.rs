//! The `Mailer` contract: a message with an HTML and a plain-text body is sent, an id comes back,
//! and what was delivered under that id goes to the recipient with the subject and both bodies
//! intact — non-ASCII text, quotes and a link longer than a mail line included — and a
//! subscription email with its RFC 8058 unsubscribe headers. Each message gets an id of its own
//! and is delivered as itself. Run by `OutboxMailer`'s unit tests (sde-local), which
//! read the outbox file, and by `SesMailer`'s tests against moto's SES v2 (sde-aws), which read
//! moto's sent mail at `/moto-api/data.json` — and, since moto keeps only the HTML body of a
//! message that has both, the text body from the `SendEmail` request as it went to moto.

use crate::{EmailMessage, Mailer};
use std::future::Future;

/// What a peer delivered, as the test reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredEmail {
    /// The recipients.
    pub to: Vec<String>,
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    pub html: String,
    /// The `List-Unsubscribe` header as sent, if any.
    pub list_unsubscribe: Option<String>,
    /// The `List-Unsubscribe-Post` header as sent, if any.
    pub list_unsubscribe_post: Option<String>,
}

/// Mail carries lines ending in CRLF; a body is compared line by line, whichever ending it was
/// read back with.
fn lines(body: &str) -> Vec<&str> {
    body.lines().collect()
}

/// Runs the mailer contract against `mailer`; `delivered` reads what the peer delivered under the
/// id `send` returned (`None` if nothing was).
pub async fn mailer_contract<R, Fut>(mailer: &dyn Mailer, delivered: R)
where
    R: Fn(String) -> Fut,
    Fut: Future<Output = Option<DeliveredEmail>>,
{
    let link = format!(
        "https://exports.example.com/files/exports/3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b/{}.csv?expires=1767225600&sig=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
        super::unique("export")
    );
    let ready = EmailMessage {
        to: "ada.lovelace@example.org".into(),
        subject: "Your export is ready — 1 234 rows of \"cats\", ünïcödé".into(),
        text: format!(
            "Hello,\n\nyour export of \"cats\" — 1 234 rows — is ready:\n{link}\n\nThe link works for 24 hours. Grüße 🐈"
        ),
        html: format!(
            "<p>Hello,</p><p>your export of &quot;cats&quot; — 1 234 rows — is <a href=\"{link}\">ready</a>.</p><p>The link works for 24 hours. Grüße 🐈</p>"
        ),
        ..EmailMessage::default()
    };
    let failed = EmailMessage {
        to: "grace.hopper@example.com".into(),
        subject: "Your export failed".into(),
        text: "The export failed: the index was unavailable. Start it again.".into(),
        html: "<p>The export failed: the index was unavailable. Start it again.</p>".into(),
        ..EmailMessage::default()
    };
    let unsubscribe = format!(
        "https://api.example.com/prod/unsubscribe?user=3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b&kind=real-time&term=hot%20dogs&expires=1767225600&sig={}",
        "ab".repeat(32)
    );
    let alert = EmailMessage {
        to: "katherine.johnson@example.net".into(),
        subject: format!("New post matching \"hot dogs\" {}", super::unique("alert")),
        text: "A new post matches \"hot dogs\".".into(),
        html: "<p>A new post matches &quot;hot dogs&quot;.</p>".into(),
        unsubscribe: Some(unsubscribe.clone()),
    };

    let ready_id = mailer.send(&ready).await.unwrap();
    let failed_id = mailer.send(&failed).await.unwrap();
    let alert_id = mailer.send(&alert).await.unwrap();
    assert!(!ready_id.is_empty(), "an id comes back");
    assert_ne!(ready_id, failed_id, "each message has an id of its own");

    assert_ne!(alert_id, failed_id, "each message has an id of its own");

    for (id, message) in [(ready_id, &ready), (failed_id, &failed), (alert_id, &alert)] {
        let Some(got) = delivered(id.clone()).await else {
            panic!("nothing was delivered under {id}");
        };
        assert_eq!(got.to, vec![message.to.clone()], "{id}: the recipient");
        assert_eq!(got.subject, message.subject, "{id}: the subject");
        assert_eq!(
            lines(&got.html),
            lines(&message.html),
            "{id}: the HTML body"
        );
        assert_eq!(
            lines(&got.text),
            lines(&message.text),
            "{id}: the text body"
        );
        match &message.unsubscribe {
            Some(link) => {
                assert_eq!(
                    got.list_unsubscribe.as_deref(),
                    Some(format!("<{link}>").as_str()),
                    "{id}: List-Unsubscribe names the link"
                );
                assert_eq!(
                    got.list_unsubscribe_post.as_deref(),
                    Some(crate::delivery::ONE_CLICK_UNSUBSCRIBE),
                    "{id}: List-Unsubscribe-Post asks for one click"
                );
            }
            None => assert_eq!(
                (got.list_unsubscribe, got.list_unsubscribe_post),
                (None, None),
                "{id}: no unsubscribe headers on an export email"
            ),
        }
    }
}
