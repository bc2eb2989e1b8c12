//! `notify-real-time`: works the notifications queue — mails each new post's real-time
//! subscribers, reporting the messages that failed so SQS retries only those.

use crate::{deps, queue};
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = &deps::notify_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(
            queue::notify_real_time_batch(event.payload, deps.parts()).await,
        )
    }))
    .await
}
