//! The WebSocket hub: the local stand-in for API Gateway's management API. Each open socket
//! registers a sender under its connection id; posting to an id that has gone reports `Gone`.

use async_trait::async_trait;
use sde_core::{DeliveryError, PostOutcome, PushChannel};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;

/// Frames a connection may have queued before it is considered stuck.
const QUEUE_DEPTH: usize = 64;

/// Open WebSocket connections by id.
#[derive(Debug, Default)]
pub struct WsHub {
    connections: Mutex<HashMap<String, mpsc::Sender<String>>>,
}

impl WsHub {
    /// Registers a new connection and returns its id and the frames to send it.
    pub fn connect(&self) -> (String, mpsc::Receiver<String>) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        self.lock().insert(id.clone(), sender);
        (id, receiver)
    }

    /// Forgets a connection once its socket has closed.
    pub fn disconnect(&self, connection_id: &str) {
        self.lock().remove(connection_id);
    }

    /// Sends `frame` if the connection is open and not backed up; never waits.
    pub fn try_post(&self, connection_id: &str, frame: &Value) -> PostOutcome {
        let sender = self.lock().get(connection_id).cloned();
        match sender {
            Some(sender) if sender.try_send(frame.to_string()).is_ok() => PostOutcome::Delivered,
            _ => PostOutcome::Gone,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<String>>> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl PushChannel for WsHub {
    async fn post(&self, connection_id: &str, frame: &Value) -> Result<PostOutcome, DeliveryError> {
        let sender = self.lock().get(connection_id).cloned();
        let Some(sender) = sender else {
            return Ok(PostOutcome::Gone);
        };
        match sender.send(frame.to_string()).await {
            Ok(()) => Ok(PostOutcome::Delivered),
            Err(_) => Ok(PostOutcome::Gone),
        }
    }
}
