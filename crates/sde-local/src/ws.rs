//! `GET /ws?token=<ID token>`: the push WebSocket. Browsers cannot set headers on a WebSocket,
//! so the token travels in the query string (and is never logged). Each message goes to the
//! WebSocket edge of `sde-edge`, the dispatcher the Lambda host runs too; this module only
//! carries frames between the socket and the hub.

use crate::stack::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use sde_edge::EdgeError;
use sde_edge::caller::unauthorized;
use sde_edge::ws::{MAX_MESSAGE_BYTES, PushParts, on_message};
use sde_handlers::push::Subscriber;
use serde::Deserialize;
use tracing::debug;

#[derive(Debug, Deserialize)]
pub struct ConnectQuery {
    token: Option<String>,
}

/// The `$connect` route: checks the token (bare or `Bearer <token>`), then upgrades. Without a
/// token the socket is anonymous if the stack allows it (`--allow-anonymous-push`), else 401.
pub async fn ws_route(
    State(state): State<AppState>,
    Query(query): Query<ConnectQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, EdgeError> {
    let subscriber = match query.token.as_deref().map(str::trim) {
        Some(token) if !token.is_empty() => {
            Subscriber::Owner(state.authenticator.verify(token).await?.owner)
        }
        _ if state.allow_anonymous_push => Subscriber::Anonymous,
        _ => return Err(unauthorized("connect with ?token=<ID token>").into()),
    };
    // One byte over the edge's limit still arrives, so the edge answers it with its own refusal.
    Ok(upgrade
        .max_message_size(MAX_MESSAGE_BYTES + 1)
        .on_upgrade(move |socket| serve_socket(state, subscriber, socket)))
}

async fn serve_socket(state: AppState, subscriber: Subscriber, socket: WebSocket) {
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
                // Answered off the loop: the answer may wait on this socket's own frame queue.
                Some(Ok(Message::Text(text))) => {
                    let (state, subscriber, connection_id) = (state.clone(), subscriber.clone(), connection_id.clone());
                    tokio::spawn(async move {
                        let parts = PushParts {
                            workflow: state.workflow.as_ref(),
                            registry: state.push_registry.as_ref(),
                            channel: state.hub.as_ref(),
                        };
                        on_message(parts, Ok(subscriber), &connection_id, text.as_str()).await;
                    });
                }
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
