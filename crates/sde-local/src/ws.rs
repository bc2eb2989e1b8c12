//! `GET /ws?token=<ID token>`: the push WebSocket. Browsers cannot set headers on a WebSocket,
//! so the token travels in the query string (and is never logged). Each message goes to the
//! WebSocket edge of `sde-edge`, the dispatcher the Lambda host runs too; this module only
//! carries frames between the socket and the hub.

use crate::hub::SocketSlot;
use crate::stack::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use sde_auth::verified_token_expiry;
use sde_edge::EdgeError;
use sde_edge::caller::unauthorized;
use sde_edge::ws::{MAX_MESSAGE_BYTES, PushParts, on_message};
use sde_handlers::push::Subscriber;
use sde_handlers::{ApiError, ApiErrorKind};
use serde::Deserialize;
use std::time::{Duration, SystemTime};
use tracing::debug;

#[derive(Debug, Deserialize)]
pub struct ConnectQuery {
    token: Option<String>,
}

/// How a socket may live: until its token expires (none for an anonymous one), holding one of
/// its user's slots.
struct Lease {
    expires_at: Option<SystemTime>,
    _slot: Option<SocketSlot>,
}

/// The `$connect` route: checks the token (bare or `Bearer <token>`) and the user's socket
/// slots, then upgrades. Without a token the socket is anonymous if the stack allows it
/// (`--allow-anonymous-push`), else 401.
pub async fn ws_route(
    State(state): State<AppState>,
    Query(query): Query<ConnectQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, EdgeError> {
    let (subscriber, lease) = match query.token.as_deref().map(str::trim) {
        Some(token) if !token.is_empty() => {
            let owner = state.authenticator.verify(token).await?.owner;
            let slot = state
                .hub
                .take_slot(&owner.sub, state.sockets.per_user)
                .ok_or_else(|| {
                    ApiError::new(
                        ApiErrorKind::TooManyRequests,
                        format!(
                            "you already have {} push connections open: close one first",
                            state.sockets.per_user
                        ),
                    )
                })?;
            let lease = Lease {
                expires_at: verified_token_expiry(token),
                _slot: Some(slot),
            };
            (Subscriber::Owner(owner), lease)
        }
        _ if state.allow_anonymous_push => (
            Subscriber::Anonymous,
            Lease {
                expires_at: None,
                _slot: None,
            },
        ),
        _ => return Err(unauthorized("connect with ?token=<ID token>").into()),
    };
    // One byte over the edge's limit still arrives, so the edge answers it with its own refusal.
    Ok(upgrade
        .max_message_size(MAX_MESSAGE_BYTES + 1)
        .on_upgrade(move |socket| serve_socket(state, subscriber, lease, socket)))
}

/// How long until `at`, from now (zero if it has passed).
fn until(at: SystemTime) -> Duration {
    at.duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO)
}

async fn serve_socket(state: AppState, subscriber: Subscriber, lease: Lease, socket: WebSocket) {
    let (connection_id, mut outgoing) = state.hub.connect();
    let (mut sink, mut incoming) = socket.split();
    debug!(connection_id, "websocket connected");
    let token_expiry = tokio::time::sleep(lease.expires_at.map_or(Duration::MAX, until));
    tokio::pin!(token_expiry);
    let idle = tokio::time::sleep(state.sockets.idle_timeout);
    tokio::pin!(idle);
    let close_because = loop {
        idle.as_mut()
            .reset(tokio::time::Instant::now() + state.sockets.idle_timeout);
        tokio::select! {
            () = &mut token_expiry => break Some("the sign-in token expired"),
            () = &mut idle => break Some("idle"),
            frame = outgoing.recv() => match frame {
                Some(text) => if sink.send(Message::Text(text.into())).await.is_err() { break None },
                None => break None,
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
                Some(Ok(Message::Close(_)) | Err(_)) | None => break None,
                Some(Ok(_)) => {}
            },
            () = state.shutdown.cancelled() => break None,
        }
    };
    // The `$disconnect` route: a client that leaves never fails its export.
    state.hub.disconnect(&connection_id);
    if let Some(reason) = close_because {
        // 1008 (policy violation) for an expired token, 1001 (going away) when idle.
        let code = if reason == "idle" { 1001 } else { 1008 };
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
    }
    let _ = sink.close().await;
    drop(lease);
    debug!(connection_id, "websocket closed");
}
