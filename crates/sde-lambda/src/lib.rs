//! The Lambda host of sde: API Gateway REST and WebSocket events, Step Functions task payloads
//! EventBridge events and SQS batches, adapted to the edge of `sde-edge` that the local stack serves too.
//! Each of the [`functions`] is a dozen lines: build its [`deps`] once from the environment,
//! then hand its events to [`rest`], [`websocket`], [`task`], [`events`] or [`queue`] through
//! `lambda_runtime::run`. They share one binary, which runs the function its `handler` names.

pub mod deps;
pub mod events;
pub mod functions;
pub mod queue;
pub mod rest;
pub mod task;
pub mod telemetry;
pub mod websocket;
