//! The one edge between a transport and the handlers of `sde-handlers`. A host — the Lambda
//! runtime or the local stack's server — only adapts its transport to what is here:
//!
//! - [`rest`]: the REST API as axum routers, one per function, that both hosts serve: the
//!   Lambda host turns an API Gateway proxy event into a request for them, the local stack
//!   serves them over HTTP;
//! - [`body`]: decoding a JSON body (415, 413, 400 saying where);
//! - [`error`]: turning an [`sde_handlers::ApiError`] into a response and a log line;
//! - [`caller`]: who is calling, from a token the host verifies or from the claims API Gateway's
//!   authorizer already verified;
//! - [`ws`]: dispatching one WebSocket message and answering it;
//! - [`task`]: decoding a Step Functions task payload and answering it.

pub mod body;
pub mod caller;
pub mod error;
pub mod rest;
pub mod task;
pub mod ws;

pub use body::{JsonBody, MAX_BODY_BYTES};
pub use caller::{Authenticate, GatewayAuthenticator, GatewayClaims, SignedIn, TokenAuthenticator};
pub use error::EdgeError;
