//! The Lambda side of sde: API Gateway REST and WebSocket events and Step Functions task
//! payloads, turned into calls of the shared handlers in `sde-handlers`. Each binary under
//! `src/bin/` is a dozen lines: build the dependencies once from the environment, then hand one
//! of these adapters to `lambda_runtime::run`.

pub mod rest;
pub mod task;
pub mod telemetry;
pub mod websocket;
