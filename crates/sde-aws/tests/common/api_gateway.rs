//! A stand-in for API Gateway's WebSocket management API, written by hand from the service's
//! documentation, for what moto cannot show: `POST /@connections/{id}` answers 200 to an open
//! connection and keeps the posted body, and 410 `GoneException` to any other; or, when built
//! with [`StandInApiGateway::refusing`], one fixed error to every request. The SDK parses its
//! answers as it would the service's.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Connections {
    open: HashSet<String>,
    posted: HashMap<String, Vec<String>>,
    opened: u64,
}

/// The stand-in, listening on the loopback interface.
pub struct StandInApiGateway {
    /// The management endpoint (no stage path).
    pub url: String,
    connections: Arc<Mutex<Connections>>,
}

impl StandInApiGateway {
    /// A management API with no connection open yet.
    pub async fn start() -> Self {
        Self::listen(None).await
    }

    /// A management API that answers every request with `status` (e.g. `"403 Forbidden"`) and
    /// the error type `error_type`.
    pub async fn refusing(status: &'static str, error_type: &'static str) -> Self {
        Self::listen(Some((status, error_type))).await
    }

    async fn listen(refusal: Option<(&'static str, &'static str)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(Mutex::new(Connections::default()));
        let shared = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer(socket, Arc::clone(&shared), refusal));
            }
        });
        StandInApiGateway { url, connections }
    }

    fn connections(&self) -> MutexGuard<'_, Connections> {
        self.connections.lock().unwrap()
    }

    /// A client connects; returns its id, shaped like API Gateway's (ending in `=`).
    pub fn open(&self) -> String {
        let mut connections = self.connections();
        connections.opened += 1;
        let id = format!("StandIn{:08}=", connections.opened);
        connections.open.insert(id.clone());
        connections.posted.insert(id.clone(), Vec::new());
        id
    }

    /// The client on `id` disconnects.
    pub fn close(&self, id: &str) {
        self.connections().open.remove(id);
    }

    /// The bodies posted to `id` while it was open, in order.
    pub fn posted(&self, id: &str) -> Vec<String> {
        self.connections()
            .posted
            .get(id)
            .cloned()
            .unwrap_or_default()
    }
}

/// Decodes the `%XX` escapes of a path segment.
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| segment.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Reads one request (head and `Content-Length` body) and answers it; one request per socket.
async fn answer(
    mut socket: TcpStream,
    connections: Arc<Mutex<Connections>>,
    refusal: Option<(&'static str, &'static str)>,
) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let (head, body) = loop {
        let read = socket.read(&mut buffer).await.unwrap_or(0);
        if read == 0 {
            return;
        }
        request.extend_from_slice(&buffer[..read]);
        let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&request[..end]).to_string();
        let length = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        if request.len() >= end + 4 + length {
            break (head, request[end + 4..end + 4 + length].to_vec());
        }
    };
    let (status, error_type) = match refusal {
        Some(refusal) => refusal,
        None => {
            let path = head.split(' ').nth(1).unwrap_or_default();
            let id = percent_decoded(path.strip_prefix("/@connections/").unwrap_or_default());
            let mut connections = connections.lock().unwrap();
            if head.starts_with("POST ") && connections.open.contains(&id) {
                let text = String::from_utf8(body).unwrap();
                connections.posted.entry(id).or_default().push(text);
                ("200 OK", "")
            } else {
                ("410 Gone", "GoneException")
            }
        }
    };
    let (body, error_header) = if error_type.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!("{{\"message\":\"{error_type}\"}}"),
            format!("x-amzn-ErrorType: {error_type}\r\n"),
        )
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{error_header}\
         x-amzn-RequestId: stand-in\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}
