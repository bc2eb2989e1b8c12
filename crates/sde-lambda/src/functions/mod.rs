//! Every Lambda function of sde. They share one binary (`src/main.rs`): each function's
//! `handler` in serverless.yml names the function the binary runs, so the whole API links once
//! instead of once per function. Each function here is a dozen lines: build its parts once from
//! the environment (failing the cold start with the variable's name), then serve its events.

pub mod compose_export;
pub mod download;
pub mod download_request;
pub mod email_link;
pub mod exports;
pub mod generate_csv;
pub mod notify_real_time;
pub mod plan_digests;
pub mod plan_export;
pub mod posts;
pub mod push_open_connection;
pub mod push_result;
pub mod release_export_slot;
pub mod report_graphical;
pub mod report_hybrid;
pub mod report_status;
pub mod search;
pub mod send_digests;
pub mod send_mail;
pub mod subscriptions;
pub mod ws_authorizer;

/// The functions, by the name serverless.yml gives their `handler` (kebab case, as the
/// functions are named).
pub const NAMES: [&str; 21] = [
    "compose-export",
    "download",
    "download-request",
    "email-link",
    "exports",
    "generate-csv",
    "notify-real-time",
    "plan-digests",
    "plan-export",
    "posts",
    "push-open-connection",
    "push-result",
    "release-export-slot",
    "report-graphical",
    "report-hybrid",
    "report-status",
    "search",
    "send-digests",
    "send-mail",
    "subscriptions",
    "ws-authorizer",
];

/// Why the binary could not pick a function.
#[derive(Debug, thiserror::Error)]
#[error("unknown function {0:?}: the handler must name one of {NAMES:?}")]
pub struct UnknownFunction(pub String);

/// Runs the function `name` until the sandbox is recycled.
pub async fn run(name: &str) -> Result<(), lambda_runtime::Error> {
    match name {
        "compose-export" => compose_export::run().await,
        "download" => download::run().await,
        "download-request" => download_request::run().await,
        "email-link" => email_link::run().await,
        "exports" => exports::run().await,
        "generate-csv" => generate_csv::run().await,
        "notify-real-time" => notify_real_time::run().await,
        "plan-digests" => plan_digests::run().await,
        "plan-export" => plan_export::run().await,
        "posts" => posts::run().await,
        "push-open-connection" => push_open_connection::run().await,
        "push-result" => push_result::run().await,
        "release-export-slot" => release_export_slot::run().await,
        "report-graphical" => report_graphical::run().await,
        "report-hybrid" => report_hybrid::run().await,
        "report-status" => report_status::run().await,
        "search" => search::run().await,
        "send-digests" => send_digests::run().await,
        "send-mail" => send_mail::run().await,
        "subscriptions" => subscriptions::run().await,
        "ws-authorizer" => ws_authorizer::run().await,
        other => Err(UnknownFunction(other.to_owned()).into()),
    }
}
