//! Email locally: every message is written as an RFC 5322 file to the outbox folder, and also
//! sent over SMTP when an SMTP URL is configured.

use async_trait::async_trait;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
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
        let email = Message::builder()
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
