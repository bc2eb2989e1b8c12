//! The HTTP seam: the few requests this crate sends, behind a small trait. Production sends them
//! with the official `elasticsearch` client ([`ClientTransport`]); tests answer them with
//! hand-written responses in the engines' documented shapes, so every code path above this one
//! runs without a cluster.

use crate::config::EsConfig;
use crate::error::EsError;
use async_trait::async_trait;
use elasticsearch::Elasticsearch;
use elasticsearch::auth::Credentials;
use elasticsearch::http::Method;
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use sde_core::{IndexError, IndexErrorKind};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// The HTTP methods this crate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsMethod {
    /// Searches and scrolls.
    Post,
    /// Indexing a new post or a subscription under its id.
    Put,
    /// Clearing scrolls, deleting a subscription's document.
    Delete,
}

/// One request: method, path relative to the cluster URL (query string included, e.g.
/// `posts/_search?scroll=2m`), and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct EsRequest {
    /// The method.
    pub method: EsMethod,
    /// Path and query string, without a leading `/`.
    pub path: String,
    /// The JSON body; `null` sends none.
    pub body: Value,
}

/// The cluster's answer: status and raw body (read by [`crate::response`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsResponse {
    /// HTTP status code.
    pub status: u16,
    /// The body as received (decompressed).
    pub body: Vec<u8>,
}

/// Sends requests to the cluster.
#[async_trait]
pub trait EsTransport: Send + Sync + fmt::Debug {
    /// Sends `request` and returns whatever status the cluster answered with. Errs only when
    /// there was no answer: [`IndexErrorKind::Timeout`] when the request timed out,
    /// [`IndexErrorKind::Unavailable`] for every other failure to connect or read.
    async fn send(&self, request: EsRequest) -> Result<EsResponse, IndexError>;
}

/// [`EsTransport`] over the official `elasticsearch` client (reqwest with rustls, gzip).
///
/// The client sends `Content-Type`/`Accept: application/json` and does no product check, so it
/// works against Elasticsearch 7 and 8 and OpenSearch 2 alike.
#[derive(Clone)]
pub struct ClientTransport {
    client: Elasticsearch,
    timeout: Duration,
    /// For `Debug` only: the URL without credentials (the config forbids them there anyway).
    url: String,
}

impl ClientTransport {
    /// A client for `config.url` with basic auth when the config has credentials.
    pub fn new(config: &EsConfig) -> Result<Self, crate::ConfigError> {
        config.validate()?;
        let pool = SingleNodeConnectionPool::new(config.url.clone());
        let mut builder = TransportBuilder::new(pool)
            .timeout(config.request_timeout)
            // The meta header describes the client to Elastic's telemetry; OpenSearch has no use
            // for it.
            .enable_meta_header(false);
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            builder = builder.auth(Credentials::Basic(
                username.clone(),
                password.expose().to_owned(),
            ));
        }
        let transport = builder.build().map_err(crate::ConfigError::Client)?;
        Ok(ClientTransport {
            client: Elasticsearch::new(transport),
            timeout: config.request_timeout,
            url: config.url.to_string(),
        })
    }

    /// The underlying client, for the rare call this crate does not wrap (index setup in tests).
    pub fn client(&self) -> &Elasticsearch {
        &self.client
    }
}

impl fmt::Debug for ClientTransport {
    // The client's own Debug would print the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTransport")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl EsTransport for ClientTransport {
    async fn send(&self, request: EsRequest) -> Result<EsResponse, IndexError> {
        let context = || format!("sending {:?} {}", request.method, path_only(&request.path));
        // `null` stands for no body: a document delete takes none, and the engines refuse one.
        let body = if request.body.is_null() {
            None
        } else {
            Some(serde_json::to_vec(&request.body).map_err(|error| {
                IndexError::new(IndexErrorKind::Rejected, context())
                    .with_source(EsError::Encode(error))
            })?)
        };
        let method = match request.method {
            EsMethod::Post => Method::Post,
            EsMethod::Put => Method::Put,
            EsMethod::Delete => Method::Delete,
        };
        let failed = |error: elasticsearch::Error| {
            let kind = if error.is_timeout() {
                IndexErrorKind::Timeout
            } else {
                IndexErrorKind::Unavailable
            };
            IndexError::new(kind, context()).with_source(EsError::Client(error))
        };
        let response = self
            .client
            .transport()
            .send(
                method,
                &request.path,
                HeaderMap::new(),
                None::<&()>,
                body,
                Some(self.timeout),
            )
            .await
            .map_err(failed)?;
        let status = response.status_code().as_u16();
        let body = response.bytes().await.map_err(failed)?;
        Ok(EsResponse {
            status,
            body: body.to_vec(),
        })
    }
}

/// The path of a request without its query string (scroll ids never go in the URL, but keep
/// logs short anyway).
pub(crate) fn path_only(path: &str) -> &str {
    path.split_once('?').map_or(path, |(path, _)| path)
}
