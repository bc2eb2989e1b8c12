//! One WebSocket message, dispatched and answered the same way on both hosts. The only message
//! a client sends is `{"action": "OpenConnection", "executionArn": …}`; anything else — too
//! large, not JSON, another action, no ARN — is refused, and every refusal is also answered on
//! the socket as `{"error": …}` (with the `executionArn` when the message named one), the frame
//! clients listen for.

use crate::error::log_refusal;
use sde_core::{PushChannel, PushRegistry, Workflow, describe_chain};
use sde_handlers::push::{OpenConnection, Subscriber, error_frame, push_open_connection};
use sde_handlers::{ApiError, ApiErrorKind};
use serde_json::{Value, json};
use tracing::warn;

/// Largest message a client may send.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// What answering a message needs: the workflow its execution runs on, the push records, and
/// the channel back to the client.
#[derive(Debug, Clone, Copy)]
pub struct PushParts<'a> {
    pub workflow: &'a dyn Workflow,
    pub registry: &'a dyn PushRegistry,
    pub channel: &'a dyn PushChannel,
}

/// Handles one text message from `connection_id`, sent by `subscriber` (or by a connection
/// whose subscriber could not be established). Returns the status of the outcome, which the
/// Lambda host answers API Gateway with; a refusal has already been answered on the socket.
pub async fn on_message(
    parts: PushParts<'_>,
    subscriber: Result<Subscriber, ApiError>,
    connection_id: &str,
    text: &str,
) -> u16 {
    let message = parse(text);
    let execution_arn = match &message {
        Ok(open) => Some(open.execution_arn.clone()),
        Err((_, arn)) => arn.clone(),
    };
    let result = async {
        let subscriber = subscriber?;
        let open = message.map_err(|(refusal, _)| refusal)?;
        push_open_connection(
            parts.workflow,
            parts.registry,
            parts.channel,
            &subscriber,
            connection_id,
            &open,
        )
        .await
    };
    match result.await {
        Ok(()) => 200,
        Err(refusal) => {
            log_refusal(&refusal);
            let frame = match &execution_arn {
                Some(arn) => error_frame(arn, refusal.public_message()),
                None => json!({ "error": refusal.public_message() }),
            };
            if let Err(error) = parts.channel.post(connection_id, &frame).await {
                warn!(error = %describe_chain(&error), "could not tell the client its message was refused");
            }
            refusal.status()
        }
    }
}

/// The `OpenConnection` a message holds, or why it holds none (and the ARN it named, if any).
fn parse(text: &str) -> Result<OpenConnection, (ApiError, Option<String>)> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err((
            ApiError::new(
                ApiErrorKind::PayloadTooLarge,
                format!("the message is larger than {MAX_MESSAGE_BYTES} bytes"),
            ),
            None,
        ));
    }
    let message: Value = serde_json::from_str(text).map_err(|e| {
        (
            ApiError::bad_request(format!("invalid JSON message: {e}")),
            None,
        )
    })?;
    let arn = message
        .get("executionArn")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match message.get("action").and_then(Value::as_str) {
        Some("OpenConnection") => {}
        other => {
            let named = other.map(|a| format!(" {a:?}")).unwrap_or_default();
            return Err((
                ApiError::bad_request(format!(
                    "unknown action{named}: send {{\"action\": \"OpenConnection\", \"executionArn\": …}}"
                )),
                arn,
            ));
        }
    }
    serde_json::from_value(message).map_err(|e| {
        (
            ApiError::bad_request(format!("OpenConnection needs \"executionArn\": {e}")),
            arn,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_open_connection_with_an_arn_is_taken() {
        let open = parse(r#"{"action":"OpenConnection","executionArn":"arn:1","taskToken":"t"}"#);
        assert_eq!(open.map(|o| o.execution_arn).ok(), Some("arn:1".to_owned()));
        let cases = [
            ("{", 400, None),
            (
                r#"{"action":"Dance","executionArn":"arn:1"}"#,
                400,
                Some("arn:1"),
            ),
            (r#"{"executionArn":"arn:1"}"#, 400, Some("arn:1")),
            (r#"{"action":"OpenConnection"}"#, 400, None),
            (r#"{"action":"OpenConnection","executionArn":7}"#, 400, None),
        ];
        for (text, status, arn) in cases {
            let (refusal, named) = parse(text).unwrap_err();
            assert_eq!(refusal.status(), status, "{text}");
            assert_eq!(named.as_deref(), arn, "{text}");
        }
        let big = format!(
            r#"{{"action":"OpenConnection","executionArn":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(parse(&big).unwrap_err().0.status(), 413);
    }
}
