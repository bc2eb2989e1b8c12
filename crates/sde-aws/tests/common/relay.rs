//! A TCP relay in front of moto that keeps every byte clients send through it, so a test can
//! read a request as it went out where moto keeps less of it than it was sent (SES v2 keeps only
//! the HTML body of a message that has a text body too).

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
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
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
