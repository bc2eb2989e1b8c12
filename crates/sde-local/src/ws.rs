//! `GET /ws?token=<ID token>`: the push WebSocket. Browsers cannot set headers on a WebSocket,
//! so the token travels in the query string (and is never logged). The client sends
//! `{"action": "OpenConnection", "executionArn": …}` and receives `{"reportURL"}` once.

use crate::http::{ErrorResponse, verify};
use crate::stack::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use sde_core::Owner;
use sde_handlers::push::{OpenConnection, error_frame, push_open_connection};
use sde_handlers::{ApiError, ApiErrorKind};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::debug;

/// Largest message a client may send.
const MAX_MESSAGE_BYTES: usize = 16 * 1024;

#[derive(Debug, Deserialize)]
pub struct ConnectQuery {
    token: Option<String>,
}

/// The `$connect` route: checks the token, then upgrades.
pub async fn ws_route(
    State(state): State<AppState>,
    Query(query): Query<ConnectQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ErrorResponse> {
    let token = query.token.ok_or_else(|| {
        ApiError::new(ApiErrorKind::Unauthorized, "connect with ?token=<ID token>")
    })?;
    let owner = verify(&state, &token).await?;
    Ok(upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve_socket(state, owner, socket)))
}

async fn serve_socket(state: AppState, owner: Owner, socket: WebSocket) {
    let (connection_id, mut outgoing) = state.hub.connect();
    let (mut sink, mut incoming) = socket.split();
    debug!(connection_id, "websocket connected");
    loop {
        tokio::select! {
            frame = outgoing.recv() => match frame {
                Some(text) => if sink.send(Message::Text(text.into())).await.is_err() { break },
                None => break,
            },
            message = incoming.next() => match message {
                Some(Ok(Message::Text(text))) => on_message(&state, &owner, &connection_id, text.as_str()).await,
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            () = state.shutdown.cancelled() => break,
        }
    }
    // The `$disconnect` route: a client that leaves never fails its export.
    state.hub.disconnect(&connection_id);
    let _ = sink.close().await;
    debug!(connection_id, "websocket closed");
}

async fn on_message(state: &AppState, owner: &Owner, connection_id: &str, text: &str) {
    let reply = match serde_json::from_str::<Value>(text) {
        Ok(message) if message.get("action").and_then(Value::as_str) == Some("OpenConnection") => {
            match serde_json::from_value::<OpenConnection>(message) {
                Ok(open) => {
                    let opened = push_open_connection(
                        state.workflow.as_ref(),
                        state.push_registry.as_ref(),
                        state.hub.as_ref(),
                        owner,
                        connection_id,
                        &open,
                    )
                    .await;
                    match opened {
                        Ok(()) => None,
                        Err(error) => Some(error_frame(
                            &open.execution_arn,
                            ErrorResponse::from(error).log_and_message(),
                        )),
                    }
                }
                Err(error) => Some(
                    json!({ "error": format!("OpenConnection needs \"executionArn\": {error}") }),
                ),
            }
        }
        Ok(_) => Some(
            json!({ "error": "unknown action: send {\"action\": \"OpenConnection\", \"executionArn\": …}" }),
        ),
        Err(error) => Some(json!({ "error": format!("invalid JSON message: {error}") })),
    };
    if let Some(frame) = reply {
        let _ = state.hub.try_post(connection_id, &frame);
    }
}
