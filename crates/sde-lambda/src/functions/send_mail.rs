//! `send-mail`: works the mail queue — sends each email `notify-real-time` and `send-digests`
//! queued (they run inside the VPC, where SES cannot be reached) at most once, reporting the
//! messages that failed so SQS retries only those.

use crate::{deps, queue};
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = &deps::send_mail_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(
            queue::send_mail_batch(event.payload, &deps.queue, &deps.mail).await,
        )
    }))
    .await
}
