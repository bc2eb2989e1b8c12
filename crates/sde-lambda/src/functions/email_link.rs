//! `email-link`: the `emailLink` task, emails the owner their link (or the failure).

use crate::{deps, task};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let mailer = &deps::email_link_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        task::email_link(mailer, event.payload)
    }))
    .await
}
