//! [`Mailer`] on SES v2: one `SendEmail` with an HTML and a plain-text body, both UTF-8, and the
//! RFC 8058 unsubscribe headers on a subscription email.

use crate::config::SesConfig;
use crate::errors::fault;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};
use sde_core::delivery::ONE_CLICK_UNSUBSCRIBE;
use sde_core::{DeliveryError, DeliveryErrorKind, EmailMessage, Mailer};

/// Error codes with which SES refuses this message or this sender, whatever the retries.
const REJECTED_CODES: &[&str] = &[
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "AccountSendingPausedException",
    "BadRequestException",
    "NotFoundException",
];

/// Sends mail from the configured, verified sender.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    config: SesConfig,
}

impl SesMailer {
    /// A mailer sending as `config.from` through SES in `sdk`'s region.
    pub fn new(sdk: &SdkConfig, config: SesConfig) -> Self {
        SesMailer {
            client: aws_sdk_sesv2::Client::new(sdk),
            config,
        }
    }
}

/// UTF-8 content for a subject or body part.
fn utf8(data: &str) -> Result<Content, DeliveryError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|error| {
            DeliveryError::new(DeliveryErrorKind::Rejected, "building the email").with_source(error)
        })
}

/// The RFC 8058 headers of a subscription email, none for an export email.
fn unsubscribe_headers(
    message: &EmailMessage,
) -> Result<Option<Vec<MessageHeader>>, DeliveryError> {
    let Some(link) = &message.unsubscribe else {
        return Ok(None);
    };
    let header = |name: &str, value: String| {
        MessageHeader::builder()
            .name(name)
            .value(value)
            .build()
            .map_err(|error| {
                DeliveryError::new(DeliveryErrorKind::Rejected, "building the email")
                    .with_source(error)
            })
    };
    Ok(Some(vec![
        header("List-Unsubscribe", format!("<{link}>"))?,
        header("List-Unsubscribe-Post", ONE_CLICK_UNSUBSCRIBE.to_owned())?,
    ]))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, message: &EmailMessage) -> Result<String, DeliveryError> {
        let content = EmailContent::builder()
            .simple(
                Message::builder()
                    .subject(utf8(&message.subject)?)
                    .body(
                        Body::builder()
                            .text(utf8(&message.text)?)
                            .html(utf8(&message.html)?)
                            .build(),
                    )
                    .set_headers(unsubscribe_headers(message)?)
                    .build(),
            )
            .build();
        let output = self
            .client
            .send_email()
            .from_email_address(&self.config.from)
            .destination(Destination::builder().to_addresses(&message.to).build())
            .content(content)
            .set_configuration_set_name(self.config.configuration_set.clone())
            .send()
            .await
            .map_err(|error| {
                let fault = fault(&error);
                let kind = if fault.transient && !fault.is_any(REJECTED_CODES) {
                    DeliveryErrorKind::Unavailable
                } else {
                    DeliveryErrorKind::Rejected
                };
                DeliveryError::new(kind, "sending email through ses").with_source(error)
            })?;
        Ok(output.message_id().unwrap_or_default().to_owned())
    }
}
