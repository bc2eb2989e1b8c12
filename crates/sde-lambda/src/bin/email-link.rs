//! `email-link`: the `emailLink` task, emails the owner their link (or the failure).

use lambda_runtime::{LambdaEvent, service_fn};
use sde_lambda::{deps, task, telemetry};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let mailer = &deps::email_link_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        task::email_link(mailer, event.payload)
    }))
    .await
}
