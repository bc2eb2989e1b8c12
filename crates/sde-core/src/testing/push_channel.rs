//! The `PushChannel` contract: a frame posted to an open connection is `Delivered` and arrives
//! there once, as one text message holding the frame's JSON; frames to one connection arrive in
//! the order posted and reach no other connection; posting to a connection whose client has left,
//! or to one never opened, is [`PostOutcome::Gone`] — an outcome, not an error — and delivers
//! nothing.
//!
//! Run by `WsHub`'s unit tests (sde-local), whose clients are the hub's own connections, and by
//! `ApiGatewayPushChannel`'s tests (sde-aws) against a stand-in for API Gateway's management API
//! that answers as the service documents (200 to an open connection, 410 `GoneException` to any
//! other) and keeps what was posted. moto cannot take part: its management API answers 200 to a
//! post to any connection id, so no connection is ever gone, and it keeps the posted bytes where
//! no API reads them back. sde-aws still posts to moto once, to show the adapter reaches its
//! management API at the endpoint without a stage path.

use crate::{PostOutcome, PushChannel};
use async_trait::async_trait;
use serde_json::{Value, json};

/// The clients on the far side of a push channel, as a test drives them.
#[async_trait]
pub trait PushClients: Send + Sync {
    /// A client connects; returns its connection id.
    async fn connect(&self) -> String;
    /// Every text message the client on `connection_id` has received so far, in order. Called
    /// after `post` returned, so what was delivered has arrived.
    async fn received(&self, connection_id: &str) -> Vec<String>;
    /// The client on `connection_id` leaves (its socket closes, `$disconnect`).
    async fn leave(&self, connection_id: &str);
}

/// The frames a channel carries: the file's URL, a progress frame, an error frame.
fn frames() -> [Value; 3] {
    [
        json!({"reportURL": "https://exports.example.com/files/ünï.csv?expires=1&sig=a%2Fb"}),
        json!({"progress": {"rowsWritten": 1200, "totalRows": 5000}}),
        json!({"error": "The export failed: \"index unavailable\" — try again",
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:download-request:x"}),
    ]
}

/// Checks `messages` are exactly `expected`, each one text message holding that frame's JSON.
fn assert_frames(messages: &[String], expected: &[Value], what: &str) {
    let parsed: Vec<Value> = messages
        .iter()
        .map(|text| {
            serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("{what}: {text:?} is not JSON text: {e}"))
        })
        .collect();
    assert_eq!(parsed, expected, "{what}");
}

/// Runs the push-channel contract against `channel`, whose connections `clients` opens, reads
/// and closes.
pub async fn push_channel_contract(channel: &dyn PushChannel, clients: &dyn PushClients) {
    let [ready, progress, failed] = frames();
    let waiting = clients.connect().await;
    let bystander = clients.connect().await;
    assert_ne!(waiting, bystander, "each connection has an id of its own");

    // One frame: delivered, and received once as its JSON text.
    let outcome = channel.post(&waiting, &ready).await.unwrap();
    assert_eq!(outcome, PostOutcome::Delivered);
    assert_frames(
        &clients.received(&waiting).await,
        std::slice::from_ref(&ready),
        "one frame posted, one received",
    );

    // More frames arrive after it, in order, and nowhere else.
    for frame in [&progress, &failed] {
        assert_eq!(
            channel.post(&waiting, frame).await.unwrap(),
            PostOutcome::Delivered
        );
    }
    assert_frames(
        &clients.received(&waiting).await,
        &[ready.clone(), progress, failed.clone()],
        "frames arrive in the order posted",
    );
    assert_eq!(
        clients.received(&bystander).await,
        Vec::<String>::new(),
        "another connection receives none of them"
    );

    // A client that has left is gone: an outcome, not an error, and nothing more arrives.
    clients.leave(&waiting).await;
    let outcome = channel.post(&waiting, &ready).await.unwrap();
    assert_eq!(outcome, PostOutcome::Gone, "a client that has left is gone");
    assert_eq!(
        clients.received(&waiting).await.len(),
        3,
        "nothing reaches a client that has left"
    );

    // So is a connection never opened.
    let outcome = channel.post("NeverOpened0000=", &failed).await.unwrap();
    assert_eq!(
        outcome,
        PostOutcome::Gone,
        "a connection never opened is gone"
    );

    // The bystander is still there.
    assert_eq!(
        channel.post(&bystander, &ready).await.unwrap(),
        PostOutcome::Delivered
    );
    assert_frames(
        &clients.received(&bystander).await,
        std::slice::from_ref(&ready),
        "the other connection still receives its own frames",
    );
}
