//! `send-digests`: works the digests queue — mails each job's user their digest of its day,
//! reporting the messages that failed so SQS retries only those.

use crate::{deps, queue};
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = &deps::send_digests_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(
            queue::send_digests_batch(event.payload, deps.parts(), &deps.days).await,
        )
    }))
    .await
}
