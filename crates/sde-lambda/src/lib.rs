//! The Lambda host of sde: API Gateway REST and WebSocket events and Step Functions task
//! payloads, adapted to the edge of `sde-edge` that the local stack serves too. Each binary
//! under `src/bin/` is a dozen lines: build its [`deps`] once from the environment, then hand
//! its events to [`rest`], [`websocket`] or [`task`] through `lambda_runtime::run`.

pub mod deps;
pub mod rest;
pub mod task;
pub mod telemetry;
pub mod websocket;
