//! The Lambda side of sde: API Gateway REST and WebSocket events and Step Functions task
//! payloads, turned into calls of the shared handlers in `sde-handlers`. Each binary under
//! `src/bin/` is a dozen lines: build its [`deps`] once from the environment, then hand its
//! [`functions`] glue to `lambda_runtime::run`.

pub mod deps;
pub mod functions;
pub mod rest;
pub mod task;
pub mod telemetry;
pub mod websocket;
