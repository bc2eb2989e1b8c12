//! Relays in front of moto: [`RecordingRelay`] keeps every byte clients send through it, so a
//! test can read a request as it went out where moto keeps less of it than it was sent (SES v2
//! keeps only the HTML body of a message that has a text body too); [`SerialRelay`] passes one
//! request at a time, so moto's DynamoDB conditional writes are atomic as DynamoDB's are.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The relay, listening on the loopback interface.
pub struct RecordingRelay {
    /// Where clients connect instead of the target.
    pub url: String,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl RecordingRelay {
    /// Relays to `target` (`http://host:port`).
    pub async fn start(target: &str) -> Self {
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sent = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&sent);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&target).await.unwrap();
                tokio::spawn(relay(client, server, Arc::clone(&kept)));
            }
        });
        RecordingRelay { url, sent }
    }

    /// The JSON bodies of every request sent so far (requests without a JSON body left out).
    pub fn json_bodies(&self) -> Vec<serde_json::Value> {
        let sent = self.sent.lock().unwrap().clone();
        let mut bodies = Vec::new();
        let mut rest = &sent[..];
        while let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&rest[..end]);
            let length = super::content_length(&head);
            let body_end = (end + 4 + length).min(rest.len());
            if let Ok(body) = serde_json::from_slice(&rest[end + 4..body_end]) {
                bodies.push(body);
            }
            rest = &rest[body_end..];
        }
        bodies
    }
}

/// Copies both ways, keeping what the client sends.
async fn relay(client: TcpStream, server: TcpStream, sent: Arc<Mutex<Vec<u8>>>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let upstream = async {
        let mut buffer = [0u8; 8192];
        loop {
            let read = from_client.read(&mut buffer).await.unwrap_or(0);
            if read == 0 {
                let _ = to_server.shutdown().await;
                return;
            }
            sent.lock().unwrap().extend_from_slice(&buffer[..read]);
            if to_server.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
        let _ = to_client.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}

/// A relay in front of moto that passes on one HTTP request at a time, and the next only once
/// moto has answered the last. moto 5.2.5 checks a DynamoDB condition and then writes without
/// a lock, so two conditional writes racing for one item can both succeed (two of fifty racing
/// `attribute_not_exists` puts did, in one run of ten); DynamoDB documents a conditional write
/// as atomic for its item. One request at a time makes moto's writes atomic too; the requests of
/// racing callers still interleave as they would against DynamoDB.
pub struct SerialRelay {
    /// Where clients connect instead of the target.
    pub url: String,
}

impl SerialRelay {
    /// Relays to `target` (`http://host:port`).
    pub async fn start(target: &str) -> Self {
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(one_at_a_time(client, target.clone(), Arc::clone(&turn)));
            }
        });
        SerialRelay { url }
    }
}

/// Passes each request of `client` on whole, in its turn, on a connection of its own, and
/// hands back the whole answer (moto closes the connection after each).
async fn one_at_a_time(mut client: TcpStream, target: String, turn: Arc<tokio::sync::Mutex<()>>) {
    let mut pending = Vec::new();
    loop {
        let Some(request) = next_request(&mut client, &mut pending).await else {
            return;
        };
        let answer = {
            let _turn = turn.lock().await;
            let mut server = TcpStream::connect(&target).await.unwrap();
            server.write_all(&request).await.unwrap();
            let mut answer = Vec::new();
            server.read_to_end(&mut answer).await.unwrap();
            answer
        };
        if client.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// The next whole request (head and `Content-Length` body) from `client`; `None` once it closes.
async fn next_request(client: &mut TcpStream, pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut buffer = [0u8; 8192];
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let length = super::content_length(&String::from_utf8_lossy(&pending[..end]));
            if pending.len() >= end + 4 + length {
                let rest = pending.split_off(end + 4 + length);
                return Some(std::mem::replace(pending, rest));
            }
        }
        let read = client.read(&mut buffer).await.unwrap_or(0);
        if read == 0 {
            return None;
        }
        pending.extend_from_slice(&buffer[..read]);
    }
}
