//! Email locally: every message is written as an RFC 5322 file to the outbox folder, and also
//! sent over SMTP when an SMTP URL is configured. A subscription email carries its RFC 8058
//! unsubscribe headers.

use async_trait::async_trait;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sde_core::delivery::ONE_CLICK_UNSUBSCRIBE;
use sde_core::{DeliveryError, DeliveryErrorKind, EmailMessage, Mailer};
use std::path::PathBuf;

/// The local mailer.
#[derive(Debug)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl OutboxMailer {
    /// Writes to `dir`, sending as `from`; with `smtp_url` (e.g. `smtp://127.0.0.1:1025`) each
    /// message is also sent there.
    pub fn new(dir: PathBuf, from: &str, smtp_url: Option<&str>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let from: Mailbox = from.parse()?;
        let smtp = smtp_url.map(plain_smtp).transpose()?;
        Ok(OutboxMailer { dir, from, smtp })
    }

    /// Where the outbox copies are written.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

/// A transport for `smtp://host[:port]`: a local relay such as MailHog or Mailpit. Mail that
/// leaves the machine goes through SES in production, so TLS relays are not offered here.
fn plain_smtp(url: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let rest = url.strip_prefix("smtp://").ok_or_else(|| {
        anyhow::anyhow!("--smtp-url must look like smtp://host:port, not {url:?}")
    })?;
    let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| anyhow::anyhow!("bad port in --smtp-url {url:?}"))?,
        ),
        None => (rest.trim_end_matches('/'), 25),
    };
    anyhow::ensure!(!host.is_empty(), "--smtp-url needs a host: {url:?}");
    Ok(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .build(),
    )
}

fn part(content_type: ContentType, body: &str) -> SinglePart {
    SinglePart::builder()
        .header(content_type)
        .header(ContentTransferEncoding::QuotedPrintable)
        .body(body.to_owned())
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, message: &EmailMessage) -> Result<String, DeliveryError> {
        let rejected =
            |context: &str| DeliveryError::new(DeliveryErrorKind::Rejected, context.to_owned());
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|e| rejected("reading the recipient").with_source(e))?;
        let mut builder = Message::builder();
        if let Some(link) = &message.unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{link}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    ONE_CLICK_UNSUBSCRIBE.to_owned(),
                ));
        }
        let email = builder
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            // Quoted-printable keeps long links intact and readable in the outbox copies.
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, &message.text))
                    .singlepart(part(ContentType::TEXT_HTML, &message.html)),
            )
            .map_err(|e| rejected("building the message").with_source(e))?;
        let name = format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            uuid::Uuid::new_v4().simple()
        );
        let path = self.dir.join(&name);
        tokio::fs::write(&path, email.formatted())
            .await
            .map_err(|e| {
                DeliveryError::new(DeliveryErrorKind::Io, "writing to the outbox").with_source(e)
            })?;
        if let Some(smtp) = &self.smtp {
            smtp.send(email).await.map_err(|e| {
                DeliveryError::new(DeliveryErrorKind::Unavailable, "sending over smtp")
                    .with_source(e)
            })?;
        }
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use sde_core::testing::{DeliveredEmail, mailer_contract};
    use std::path::Path;

    /// A message's header block, its folded lines joined, as (name, value) pairs.
    fn headers(block: &str) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in block.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push_str(line);
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
        }
        headers
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// A header value with its RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`)
    /// decoded; the space between two encoded words is not part of the text.
    fn decode_words(value: &str) -> String {
        let mut text = String::new();
        let mut last_was_word = false;
        for (i, token) in value
            .split([' ', '\t'])
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            let word = token
                .strip_prefix("=?")
                .and_then(|t| t.strip_suffix("?="))
                .and_then(|t| {
                    let mut parts = t.splitn(3, '?');
                    Some((parts.next()?, parts.next()?, parts.next()?))
                });
            match word {
                Some((charset, encoding, data)) => {
                    assert!(charset.eq_ignore_ascii_case("utf-8"), "{value}");
                    let bytes = if encoding.eq_ignore_ascii_case("b") {
                        base64::engine::general_purpose::STANDARD
                            .decode(data)
                            .unwrap()
                    } else {
                        quoted_printable::decode(
                            data.replace('_', " "),
                            quoted_printable::ParseMode::Strict,
                        )
                        .unwrap()
                    };
                    if i > 0 && !last_was_word {
                        text.push(' ');
                    }
                    text.push_str(&String::from_utf8(bytes).unwrap());
                    last_was_word = true;
                }
                None => {
                    if i > 0 {
                        text.push(' ');
                    }
                    text.push_str(token);
                    last_was_word = false;
                }
            }
        }
        text
    }

    /// Reads an outbox file back: its recipients and subject, and the text and HTML parts of
    /// its `multipart/alternative` body, quoted-printable decoded.
    fn read_outbox(path: &Path) -> Option<DeliveredEmail> {
        let raw = std::fs::read_to_string(path).ok()?;
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let head = headers(head);
        let to = header(&head, "To")
            .unwrap()
            .split(',')
            .map(|address| address.trim().to_owned())
            .collect();
        let subject = decode_words(header(&head, "Subject").unwrap());
        let content_type = header(&head, "Content-Type").unwrap();
        assert!(
            content_type.starts_with("multipart/alternative"),
            "{content_type}"
        );
        let boundary = content_type
            .split_once("boundary=")
            .unwrap()
            .1
            .trim_matches('"');
        let (mut text, mut html) = (None, None);
        for part in body.split(&format!("--{boundary}")) {
            let Some((part_head, content)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let part_head = headers(part_head.trim_start_matches("\r\n"));
            assert_eq!(
                header(&part_head, "Content-Transfer-Encoding"),
                Some("quoted-printable")
            );
            let decoded = quoted_printable::decode(
                content.trim_end_matches("\r\n"),
                quoted_printable::ParseMode::Strict,
            )
            .unwrap();
            let decoded = String::from_utf8(decoded).unwrap();
            match header(&part_head, "Content-Type") {
                Some(kind) if kind.starts_with("text/plain") => text = Some(decoded),
                Some(kind) if kind.starts_with("text/html") => html = Some(decoded),
                other => panic!("an unexpected part {other:?}"),
            }
        }
        Some(DeliveredEmail {
            to,
            subject,
            text: text.unwrap(),
            html: html.unwrap(),
            list_unsubscribe: header(&head, "List-Unsubscribe").map(str::to_owned),
            list_unsubscribe_post: header(&head, "List-Unsubscribe-Post").map(str::to_owned),
        })
    }

    #[tokio::test]
    async fn the_outbox_keeps_the_mailer_contract() {
        let dir = tempfile::tempdir().unwrap();
        let mailer =
            OutboxMailer::new(dir.path().join("outbox"), "exports@sde.local", None).unwrap();
        mailer_contract(&mailer, |id| {
            let path = mailer.dir().join(id);
            async move { read_outbox(&path) }
        })
        .await;
    }
}
