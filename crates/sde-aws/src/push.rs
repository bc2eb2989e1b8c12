//! [`PushChannel`] on API Gateway's WebSocket management API (`PostToConnection`).

use crate::config::PushConfig;
use crate::errors::{fault, is_gone};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use sde_core::{DeliveryError, DeliveryErrorKind, PostOutcome, PushChannel};
use serde_json::Value;

/// Posts frames to the clients of one WebSocket API stage.
#[derive(Debug, Clone)]
pub struct ApiGatewayPushChannel {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl ApiGatewayPushChannel {
    /// A channel to the stage at `config.endpoint`
    /// (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`; an emulator such as
    /// moto takes its own URL without the stage).
    pub fn new(sdk: &SdkConfig, config: &PushConfig) -> Self {
        let management = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(&config.endpoint)
            .build();
        ApiGatewayPushChannel {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(management),
        }
    }
}

#[async_trait]
impl PushChannel for ApiGatewayPushChannel {
    async fn post(&self, connection_id: &str, frame: &Value) -> Result<PostOutcome, DeliveryError> {
        let result = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(frame.to_string().into_bytes()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(PostOutcome::Delivered),
            Err(error) if is_gone(&error) => Ok(PostOutcome::Gone),
            Err(error) => {
                let kind = if fault(&error).transient {
                    DeliveryErrorKind::Unavailable
                } else {
                    DeliveryErrorKind::Rejected
                };
                Err(
                    DeliveryError::new(kind, "posting to a websocket connection")
                        .with_source(error),
                )
            }
        }
    }
}
