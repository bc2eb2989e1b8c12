//! `email-link`: email the owner a signed link to their file, or tell them the export failed.

use crate::execution::ExportOutput;
use crate::task_failure::TaskFailure;
use sde_core::{EmailMessage, Mailer, Owner, html};
use serde::{Deserialize, Serialize};
use tracing::info;

/// What the email step receives: the owner and either the report or the error a `Catch`
/// recorded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NotifyInput {
    pub owner: Owner,
    #[serde(rename = "exportId", default)]
    pub export_id: Option<String>,
    #[serde(default)]
    pub report: Option<ExportOutput>,
    #[serde(default)]
    pub failure: Option<CaughtError>,
}

/// The error object a `Catch` writes: `{"Error": name, "Cause": text}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl CaughtError {
    /// What the owner is told: the fixed reason for the error's name, never its cause.
    pub fn reason(&self) -> &'static str {
        crate::task_failure::reason(&self.error)
    }
}

/// What the email step returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailSent {
    pub message_id: String,
}

/// Emails the owner of the execution — only ever the address of their verified token.
pub async fn email_link(
    mailer: &dyn Mailer,
    input: &NotifyInput,
) -> Result<EmailSent, TaskFailure> {
    let to = input.owner.email.clone();
    let message = match (&input.report, &input.failure) {
        (Some(report), _) => ready_message(to, report),
        (None, Some(failure)) => failed_message(to, failure.reason()),
        (None, None) => {
            return Err(TaskFailure::invalid_request(
                "email-link needs a report or a failure",
            ));
        }
    };
    let message_id = mailer.send(&message).await?;
    info!(message_id, "export email sent");
    Ok(EmailSent { message_id })
}

fn ready_message(to: String, report: &ExportOutput) -> EmailMessage {
    let expires = report.expires_at.format("%Y-%m-%d %H:%M UTC");
    let rows = report.rows;
    let url = &report.report_url;
    EmailMessage {
        to,
        subject: "Your export is ready".into(),
        text: format!(
            "Your export of {rows} posts is ready.\r\n\r\nDownload it here:\r\n{url}\r\n\r\n\
             The link works until {expires}.\r\n"
        ),
        html: format!(
            "<p>Your export of {rows} posts is ready.</p>\
             <p><a href=\"{href}\">Download the file</a></p>\
             <p>The link works until {expires}.</p>",
            href = html::escape(url)
        ),
        unsubscribe: None,
    }
}

fn failed_message(to: String, cause: &str) -> EmailMessage {
    EmailMessage {
        to,
        subject: "Your export failed".into(),
        text: format!(
            "Your export could not be completed.\r\n\r\nReason: {cause}\r\n\r\nPlease try again.\r\n"
        ),
        html: format!(
            "<p>Your export could not be completed.</p><p>Reason: {}</p><p>Please try again.</p>",
            html::escape(cause)
        ),
        unsubscribe: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_told_the_reason_never_the_cause() {
        let caught = CaughtError {
            error: "Export.Failed".into(),
            cause: r#"{"errorType":"Export.Failed","errorMessage":"s3://sde-dev-exports denied to arn:aws:iam::1:role/x"}"#.into(),
        };
        assert!(!caught.reason().contains("arn:") && !caught.reason().contains("s3://"));
        let timeout = CaughtError {
            error: "States.Timeout".into(),
            cause: String::new(),
        };
        assert!(timeout.reason().contains("too large to finish in time"));
    }

    #[test]
    fn links_are_escaped_in_html() {
        assert_eq!(
            html::escape("https://x/?a=1&b=\"<2>\""),
            "https://x/?a=1&amp;b=&quot;&lt;2&gt;&quot;"
        );
    }
}
