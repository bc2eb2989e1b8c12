//! The WebSocket hub: the local stand-in for API Gateway's management API. Each open socket
//! registers a sender under its connection id; posting to an id that has gone reports `Gone`.

use async_trait::async_trait;
use sde_core::{DeliveryError, PostOutcome, PushChannel};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Frames a connection may have queued before it is considered stuck.
const QUEUE_DEPTH: usize = 64;

/// Open WebSocket connections by id, and how many each user has open.
#[derive(Debug, Default)]
pub struct WsHub {
    connections: Mutex<HashMap<String, mpsc::Sender<String>>>,
    open_per_user: Arc<Mutex<HashMap<String, usize>>>,
}

/// One of a user's socket slots, given back when dropped (the socket closed).
#[derive(Debug)]
pub struct SocketSlot {
    open_per_user: Arc<Mutex<HashMap<String, usize>>>,
    sub: String,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.open_per_user);
        if let Some(count) = open.get_mut(&self.sub) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.sub);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl WsHub {
    /// Takes one of the `per_user` socket slots of the user `sub`, or `None` when all are
    /// taken. Counting and taking are one step, so concurrent connects cannot overshoot.
    pub fn take_slot(&self, sub: &str, per_user: usize) -> Option<SocketSlot> {
        let mut open = lock(&self.open_per_user);
        let count = open.entry(sub.to_owned()).or_insert(0);
        if *count >= per_user {
            return None;
        }
        *count += 1;
        Some(SocketSlot {
            open_per_user: Arc::clone(&self.open_per_user),
            sub: sub.to_owned(),
        })
    }

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

    /// How many connections are open.
    pub fn open_connections(&self) -> usize {
        self.lock().len()
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
        lock(&self.connections)
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

#[cfg(test)]
mod tests {
    use super::*;
    use sde_core::testing::{PushClients, push_channel_contract};
    use serde_json::json;

    /// One connection's socket side: frames still queued, and those taken so far.
    type Inbox = (mpsc::Receiver<String>, Vec<String>);

    /// The hub's own connections, each with the frames it has received so far.
    struct HubClients<'a> {
        hub: &'a WsHub,
        inboxes: Mutex<HashMap<String, Inbox>>,
    }

    #[async_trait]
    impl PushClients for HubClients<'_> {
        async fn connect(&self) -> String {
            let (id, frames) = self.hub.connect();
            self.inboxes
                .lock()
                .unwrap()
                .insert(id.clone(), (frames, Vec::new()));
            id
        }

        async fn received(&self, connection_id: &str) -> Vec<String> {
            let mut inboxes = self.inboxes.lock().unwrap();
            let (frames, seen) = inboxes.get_mut(connection_id).unwrap();
            while let Ok(frame) = frames.try_recv() {
                seen.push(frame);
            }
            seen.clone()
        }

        async fn leave(&self, connection_id: &str) {
            // What the socket's task does once it has closed.
            self.hub.disconnect(connection_id);
        }
    }

    #[tokio::test]
    async fn the_hub_keeps_the_push_channel_contract() {
        let hub = WsHub::default();
        let clients = HubClients {
            hub: &hub,
            inboxes: Mutex::default(),
        };
        push_channel_contract(&hub, &clients).await;
    }

    #[tokio::test]
    async fn a_connection_whose_socket_has_stopped_reading_is_gone() {
        let hub = WsHub::default();
        let (id, frames) = hub.connect();
        drop(frames);
        let frame = json!({"reportURL": "https://x/y.csv"});
        assert_eq!(hub.post(&id, &frame).await.unwrap(), PostOutcome::Gone);
        assert_eq!(hub.try_post(&id, &frame), PostOutcome::Gone);
    }
}
