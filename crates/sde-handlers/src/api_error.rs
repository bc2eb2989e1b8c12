//! Errors of the HTTP and WebSocket handlers, and their one mapping to a status and a body.

use sde_core::{
    BoxError, CriteriaError, ExportSlotsError, ExportSlotsErrorKind, IndexError, IndexErrorKind,
    OptionsError, PostError, SubscriptionError, SubscriptionsError, SubscriptionsErrorKind,
    UnverifiedEmail, WorkflowError, WorkflowErrorKind,
};
use serde_json::{Value, json};
use std::fmt;

/// What kind of failure a request met; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    UnsupportedMediaType,
    PayloadTooLarge,
    TooManyRequests,
    Unavailable,
    Internal,
}

/// A failed request: a kind, a message for the caller (4xx only) and the kept cause for the log.
#[derive(Debug, thiserror::Error)]
pub struct ApiError {
    pub kind: ApiErrorKind,
    message: String,
    #[source]
    source: Option<BoxError>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ApiError {
    pub fn new(kind: ApiErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(ApiErrorKind::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(ApiErrorKind::NotFound, message)
    }

    pub fn internal(source: impl Into<BoxError>) -> Self {
        ApiError::new(ApiErrorKind::Internal, "internal error").with_source(source)
    }

    /// The HTTP status of this error — the only place statuses are chosen.
    pub fn status(&self) -> u16 {
        match self.kind {
            ApiErrorKind::BadRequest => 400,
            ApiErrorKind::Unauthorized => 401,
            ApiErrorKind::Forbidden => 403,
            ApiErrorKind::NotFound => 404,
            ApiErrorKind::MethodNotAllowed => 405,
            ApiErrorKind::PayloadTooLarge => 413,
            ApiErrorKind::UnsupportedMediaType => 415,
            ApiErrorKind::TooManyRequests => 429,
            ApiErrorKind::Internal => 500,
            ApiErrorKind::Unavailable => 503,
        }
    }

    /// The message shown to the caller: the specific one for 4xx, a generic one for 5xx so
    /// internals never leak.
    pub fn public_message(&self) -> &str {
        match self.kind {
            ApiErrorKind::Internal => "internal error",
            ApiErrorKind::Unavailable => {
                "the service is temporarily unavailable, try again shortly"
            }
            _ => &self.message,
        }
    }

    /// The JSON body: `{"message": …}`.
    pub fn body(&self) -> Value {
        json!({ "message": self.public_message() })
    }

    /// Whether this is the server's fault (and worth an error-level log).
    pub fn is_server_error(&self) -> bool {
        self.status() >= 500
    }
}

impl From<CriteriaError> for ApiError {
    fn from(error: CriteriaError) -> Self {
        ApiError::bad_request(error.to_string())
    }
}

impl From<UnverifiedEmail> for ApiError {
    fn from(error: UnverifiedEmail) -> Self {
        ApiError::new(ApiErrorKind::Forbidden, error.to_string())
    }
}

impl From<OptionsError> for ApiError {
    fn from(error: OptionsError) -> Self {
        ApiError::bad_request(error.to_string())
    }
}

impl From<PostError> for ApiError {
    /// A post past a limit is too large (413); a malformed one is a bad request (400).
    fn from(error: PostError) -> Self {
        let kind = if error.is_over_limit() {
            ApiErrorKind::PayloadTooLarge
        } else {
            ApiErrorKind::BadRequest
        };
        ApiError::new(kind, error.to_string())
    }
}

impl ApiError {
    /// The index failed while doing `what` (for the log: "search failed", "storing the post
    /// failed"): a 503 if trying again may help, else a 500.
    pub fn index_failure(error: IndexError, what: &str) -> Self {
        let kind = match error.kind {
            IndexErrorKind::Unavailable | IndexErrorKind::Timeout => ApiErrorKind::Unavailable,
            IndexErrorKind::Rejected | IndexErrorKind::Corrupt => ApiErrorKind::Internal,
        };
        ApiError::new(kind, what).with_source(error)
    }
}

impl From<IndexError> for ApiError {
    fn from(error: IndexError) -> Self {
        ApiError::index_failure(error, "search failed")
    }
}

impl From<WorkflowError> for ApiError {
    fn from(error: WorkflowError) -> Self {
        match error.kind {
            WorkflowErrorKind::NotFound => ApiError::not_found("no such export").with_source(error),
            WorkflowErrorKind::Unavailable => {
                ApiError::new(ApiErrorKind::Unavailable, "workflow unavailable").with_source(error)
            }
            _ => ApiError::internal(error),
        }
    }
}

impl From<ExportSlotsError> for ApiError {
    fn from(error: ExportSlotsError) -> Self {
        match error.kind {
            ExportSlotsErrorKind::Unavailable => {
                ApiError::new(ApiErrorKind::Unavailable, "export slots unavailable")
                    .with_source(error)
            }
            ExportSlotsErrorKind::Rejected => ApiError::internal(error),
        }
    }
}

impl From<SubscriptionError> for ApiError {
    fn from(error: SubscriptionError) -> Self {
        ApiError::bad_request(error.to_string())
    }
}

impl From<SubscriptionsError> for ApiError {
    fn from(error: SubscriptionsError) -> Self {
        match error.kind {
            SubscriptionsErrorKind::Unavailable => {
                ApiError::new(ApiErrorKind::Unavailable, "subscriptions unavailable")
                    .with_source(error)
            }
            SubscriptionsErrorKind::Rejected => ApiError::internal(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_say_what_is_wrong_and_server_errors_say_nothing_internal() {
        let bad = ApiError::from(CriteriaError::EmptyTerm { index: 2 });
        assert_eq!(
            (bad.status(), bad.body()),
            (400, json!({"message": "search[2].value must not be empty"}))
        );
        let broken = ApiError::from(IndexError::new(
            IndexErrorKind::Corrupt,
            "reading /var/secret/path",
        ));
        assert_eq!(broken.status(), 500);
        assert_eq!(broken.body(), json!({"message": "internal error"}));
        assert!(!broken.body().to_string().contains("secret"));
    }

    #[test]
    fn an_unknown_execution_is_a_404() {
        let error = ApiError::from(WorkflowError::new(
            WorkflowErrorKind::NotFound,
            "describing",
        ));
        assert_eq!(error.status(), 404);
    }

    #[test]
    fn a_slot_store_that_cannot_be_reached_is_a_503_and_says_nothing_internal() {
        let unreachable = ApiError::from(ExportSlotsError::new(
            ExportSlotsErrorKind::Unavailable,
            "reserving in table sde-prod-export-slots",
        ));
        assert_eq!(unreachable.status(), 503);
        assert!(!unreachable.body().to_string().contains("sde-prod"));
        let refused = ApiError::from(ExportSlotsError::new(
            ExportSlotsErrorKind::Rejected,
            "reserving",
        ));
        assert_eq!(refused.status(), 500);
    }
}
