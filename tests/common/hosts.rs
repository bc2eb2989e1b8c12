//! Both hosts behind one interface, for the tables that must be answered alike: the local stack
//! over HTTP and WebSocket, and the Lambda functions driven with API Gateway events built from
//! the hand-written fixtures under `tests/fixtures/apigw/`. The Lambda host runs over the same
//! running stack's parts (index, workflow, store, push records, hub), so both see the same data;
//! only the transport and the caller's authentication differ, as they do in production.
//!
//! API Gateway's own part is played here, as documented: the Cognito user-pool authorizer
//! verifies the `Authorization` header (bare token or `Bearer <token>`) and hands the token's
//! claims, every value a string, to the function — or answers 401 `{"message":"Unauthorized"}`
//! without calling it (except on `/unsubscribe`, whose route has no authorizer: the signed link
//! is the credential); the query string reaches the function decoded, in
//! `queryStringParameters` and `multiValueQueryStringParameters`; WebSocket messages are routed
//! by their `action`, else to `$default`.

#![allow(dead_code)]

use super::{Socket, TestApp};
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayProxyRequest,
    ApiGatewayWebsocketProxyRequest,
};
use aws_lambda_events::encodings::Body;
use axum::Router;
use base64::Engine as _;
use sde_auth::IdTokenVerifier;
use sde_edge::rest::{
    CorsOrigin, ExportStarter, MyExports, Reporter, StatusReader, Unsubscribes,
    download_request_routes, exports_routes, posts_routes, report_graphical_routes,
    report_hybrid_routes, report_status_routes, search_routes, subscriptions_routes,
    unsubscribe_routes,
};
use sde_edge::ws::PushParts;
use sde_handlers::reports::ReportSettings;
use sde_lambda::websocket::AnonymousPush;
use sde_local::AppState;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// A REST request as a browser sends it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: &'static str,
    pub path: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Call {
    /// `POST path` with the frontend's headers: the ID token bare in `Authorization` (as AWS
    /// Amplify sends it) and `Content-Type: application/json`.
    pub fn post(path: &'static str, token: &str, body: &Value) -> Call {
        Call {
            method: "POST",
            path,
            headers: vec![
                ("Authorization".into(), token.into()),
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json, text/plain, */*".into()),
            ],
            body: Some(body.to_string()),
        }
    }

    /// `method path` without a body, with the frontend's `Authorization` and `Accept` headers.
    pub fn without_body(method: &'static str, path: &'static str, token: &str) -> Call {
        Call {
            method,
            path,
            headers: vec![
                ("Authorization".into(), token.into()),
                ("Accept".into(), "application/json, text/plain, */*".into()),
            ],
            body: None,
        }
    }
}

/// The status and body a host answered: its JSON, or its text when it is not JSON (an HTML
/// page), `Null` when empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// Which host a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    Local,
    Lambda,
}

/// One host of the API.
pub struct Host<'a> {
    pub kind: HostKind,
    pub app: &'a TestApp,
}

fn cors() -> CorsOrigin {
    CorsOrigin::Any
}

impl<'a> Host<'a> {
    pub fn both(app: &'a TestApp) -> [Host<'a>; 2] {
        [
            Host {
                kind: HostKind::Local,
                app,
            },
            Host {
                kind: HostKind::Lambda,
                app,
            },
        ]
    }

    fn state(&self) -> &'a AppState {
        &self.app.stack.as_ref().expect("a running stack").state
    }

    /// Sends `call` and returns the answer.
    pub async fn call(&self, call: &Call) -> Answer {
        match self.kind {
            HostKind::Local => self.call_local(call).await,
            HostKind::Lambda => self.call_lambda(call).await,
        }
    }

    async fn call_local(&self, call: &Call) -> Answer {
        let method = reqwest::Method::from_bytes(call.method.as_bytes()).unwrap();
        let mut request = self
            .app
            .http
            .request(method, format!("{}{}", self.app.url, call.path));
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        Answer {
            status,
            body: body_of(text),
        }
    }

    /// The REST API of the function API Gateway routes `path` to, built as its binary builds it.
    fn function(&self, path: &str) -> Router {
        let state = self.state();
        let routes = match path {
            "/search" => search_routes(state.index.clone()),
            "/download-request" => download_request_routes(ExportStarter {
                workflow: state.workflow.clone(),
                slots: state.slots.clone(),
                limits: state.limits,
            }),
            "/report-status" => report_status_routes(StatusReader {
                workflow: state.workflow.clone(),
                progress: state.progress.clone(),
            }),
            "/posts" => posts_routes(state.posts.clone(), state.notifications.clone()),
            "/subscriptions/daily" | "/subscriptions/real-time" => {
                subscriptions_routes(state.subscriptions.clone(), state.matcher.clone())
            }
            "/exports" | "/exports/{id}" => exports_routes(MyExports {
                workflow: state.workflow.clone(),
                store: state.report_store.clone(),
                progress: state.progress.clone(),
                registry: state.push_registry.clone(),
                channel: state.hub.clone(),
            }),
            "/report/graphical" | "/report/hybrid" => {
                let reporter = Reporter {
                    stats: state.stats.clone(),
                    store: state.report_store.clone(),
                    links: state.links.clone(),
                    settings: ReportSettings::default(),
                };
                if path == "/report/graphical" {
                    report_graphical_routes(reporter)
                } else {
                    report_hybrid_routes(reporter)
                }
            }
            "/unsubscribe" => unsubscribe_routes(Unsubscribes::new(
                state.subscriptions.clone(),
                state.matcher.clone(),
                state.unsubscribe_links.clone(),
                state.base_url.clone(),
            )),
            other => panic!("no function serves {other}"),
        };
        sde_lambda::rest::api(routes, &cors())
    }

    async fn call_lambda(&self, call: &Call) -> Answer {
        let header = |name: &str| {
            call.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let (path, query) = call.path.split_once('?').unwrap_or((call.path, ""));
        let claims = cognito_authorizer(&self.verifier(), header("Authorization")).await;
        let claims = match claims {
            Some(claims) => json!({ "claims": claims }),
            None if path == "/unsubscribe" => Value::Null,
            None => {
                return Answer {
                    status: 401,
                    body: json!({"message": "Unauthorized"}),
                };
            }
        };
        let mut event = fixture("rest-search.json");
        // API Gateway names the resource and hands its path parameters apart.
        let resource = match path.strip_prefix("/exports/") {
            Some(id) => {
                event["pathParameters"] = json!({ "id": id });
                "/exports/{id}"
            }
            None => path,
        };
        // ... and its query string, decoded.
        let (mut single, mut multi) = (Map::new(), Map::new());
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(text)
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            };
            let (name, value) = (decode(name), decode(value));
            single.insert(name.clone(), json!(value));
            multi
                .entry(name)
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .unwrap()
                .push(json!(value));
        }
        if !single.is_empty() {
            event["queryStringParameters"] = Value::Object(single);
            event["multiValueQueryStringParameters"] = Value::Object(multi);
        }
        event["resource"] = json!(resource);
        event["path"] = json!(path);
        event["httpMethod"] = json!(call.method);
        event["requestContext"]["resourcePath"] = json!(resource);
        event["requestContext"]["httpMethod"] = json!(call.method);
        event["requestContext"]["path"] = json!(format!("/dev{path}"));
        event["requestContext"]["authorizer"] = claims;
        let headers: Map<String, Value> = call
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), json!(v)))
            .collect();
        let multi: Map<String, Value> = call
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), json!([v])))
            .collect();
        event["headers"] = Value::Object(headers);
        event["multiValueHeaders"] = Value::Object(multi);
        event["body"] = call.body.clone().map_or(Value::Null, Value::String);
        let event: ApiGatewayProxyRequest = serde_json::from_value(event).unwrap();
        let response = sde_lambda::rest::serve(self.function(resource), event).await;
        let body = match response.body {
            Some(Body::Text(text)) => body_of(text),
            _ => Value::Null,
        };
        Answer {
            status: u16::try_from(response.status_code).unwrap(),
            body,
        }
    }

    fn verifier(&self) -> IdTokenVerifier {
        self.state()
            .issuer
            .as_ref()
            .expect("the development issuer")
            .verifier()
    }

    /// Opens the push WebSocket, with the ID token in the connect URL or without one.
    pub async fn connect(&self, token: Option<&str>) -> Result<PushSocket<'a>, u16> {
        match self.kind {
            HostKind::Local => {
                let base = format!("{}/ws", self.app.url.replacen("http", "ws", 1));
                let url = match token {
                    Some(token) => reqwest::Url::parse_with_params(&base, [("token", token)])
                        .unwrap()
                        .to_string(),
                    None => base,
                };
                match tokio_tungstenite::connect_async(url).await {
                    Ok((socket, _)) => Ok(PushSocket::Local(Box::new(Socket(socket)))),
                    Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                        Err(response.status().as_u16())
                    }
                    Err(other) => panic!("connecting: {other}"),
                }
            }
            HostKind::Lambda => {
                let mut event = fixture("ws-authorizer-connect.json");
                match token {
                    Some(token) => {
                        event["queryStringParameters"] = json!({ "token": token });
                        event["multiValueQueryStringParameters"] = json!({ "token": [token] });
                    }
                    None => {
                        event["queryStringParameters"] = Value::Null;
                        event["multiValueQueryStringParameters"] = Value::Null;
                    }
                }
                let event: ApiGatewayCustomAuthorizerRequestTypeRequest =
                    serde_json::from_value(event).unwrap();
                let anonymous = AnonymousPush(self.state().allow_anonymous_push);
                let policy = sde_lambda::websocket::authorize(&self.verifier(), anonymous, event)
                    .await
                    .map_err(|_| 401u16)?;
                let policy = serde_json::to_value(policy).unwrap();
                // API Gateway hands the context, plus the principal, to every later route.
                let mut context = policy["context"].clone();
                context["principalId"] = policy["principalId"].clone();
                let (connection_id, frames) = self.state().hub.connect();
                Ok(PushSocket::Lambda {
                    state: self.state(),
                    context,
                    connection_id,
                    frames,
                })
            }
        }
    }
}

/// A body as [`Answer`] holds it.
fn body_of(text: String) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// What API Gateway's Cognito user-pool authorizer passes on for `authorization`: the verified
/// token's claims as strings, or `None` (API Gateway answers 401 itself).
async fn cognito_authorizer(
    verifier: &IdTokenVerifier,
    authorization: Option<String>,
) -> Option<Map<String, Value>> {
    let header = authorization?;
    let token = header
        .strip_prefix("Bearer ")
        .unwrap_or(&header)
        .trim()
        .to_owned();
    verifier.verify(&token).await.ok()?;
    let payload = token.split('.').nth(1)?;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&payload).ok()?;
    Some(
        claims
            .into_iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                (name, Value::String(text))
            })
            .collect(),
    )
}

/// A push WebSocket on either host.
pub enum PushSocket<'a> {
    Local(Box<Socket>),
    Lambda {
        state: &'a AppState,
        context: Value,
        connection_id: String,
        frames: mpsc::Receiver<String>,
    },
}

impl PushSocket<'_> {
    /// Sends one text message.
    pub async fn send_text(&mut self, text: &str) {
        match self {
            PushSocket::Local(socket) => {
                use futures::SinkExt as _;
                socket
                    .0
                    .send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
                    .await
                    .unwrap();
            }
            PushSocket::Lambda {
                state,
                context,
                connection_id,
                ..
            } => {
                // Route selection `$request.body.action`: a known action, else `$default`.
                let action = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|m| m["action"].as_str().map(str::to_owned));
                let route = match action.as_deref() {
                    Some("OpenConnection") => "OpenConnection",
                    _ => "$default",
                };
                let mut event = fixture("ws-open-connection.json");
                event["requestContext"]["routeKey"] = json!(route);
                event["requestContext"]["connectionId"] = json!(connection_id);
                event["requestContext"]["authorizer"] = context.clone();
                event["body"] = json!(text);
                let event: ApiGatewayWebsocketProxyRequest = serde_json::from_value(event).unwrap();
                let parts = PushParts {
                    workflow: state.workflow.as_ref(),
                    registry: state.push_registry.as_ref(),
                    channel: state.hub.as_ref(),
                };
                let anonymous = AnonymousPush(state.allow_anonymous_push);
                sde_lambda::websocket::route(parts, anonymous, event).await;
            }
        }
    }

    /// The next frame the server sends, or `None` if none comes within `within`.
    pub async fn next_frame(&mut self, within: Duration) -> Option<Value> {
        match self {
            PushSocket::Local(socket) => socket.next_frame(within).await,
            PushSocket::Lambda { frames, .. } => {
                let text = tokio::time::timeout(within, frames.recv()).await.ok()??;
                Some(serde_json::from_str(&text).unwrap())
            }
        }
    }
}

/// `tests/fixtures/apigw/<name>` as JSON.
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apigw")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}
