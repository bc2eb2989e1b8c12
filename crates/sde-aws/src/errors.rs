//! Reading an SDK failure the same way for every service: was it the network or an overloaded
//! service (worth retrying), and which error code did the service answer with.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// Error codes that mean "slow down" or "try again later" across the services we call.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "LimitExceededException",
    "ProvisionedThroughputExceededException",
];

/// What an SDK failure amounts to, independent of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    /// The service's error code, when it answered with one.
    pub code: Option<String>,
    /// The HTTP status, when a response came back.
    pub status: Option<u16>,
    /// The request may succeed if sent again: no answer, a timeout, throttling or a 5xx.
    pub transient: bool,
}

impl Fault {
    /// Whether the service answered with the error code `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// Whether the service answered with one of `codes`.
    pub fn is_any(&self, codes: &[&str]) -> bool {
        codes.iter().any(|code| self.is(code))
    }

    /// The service refused our credentials or permissions.
    pub fn is_denied(&self) -> bool {
        self.status == Some(403)
            || self.is_any(&[
                "AccessDenied",
                "AccessDeniedException",
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "ExpiredToken",
                "UnrecognizedClientException",
                "ForbiddenException",
            ])
    }
}

/// Reads `error`. Requests never sent or answered (dispatch failures, timeouts, unreadable
/// responses) are transient; so are throttling codes and 5xx/429 answers. A request the SDK
/// could not build is not.
pub(crate) fn fault<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> Fault {
    let status = error.raw_response().map(|raw| raw.status().as_u16());
    let code = error.code().map(str::to_owned);
    let transient = match error {
        SdkError::ConstructionFailure(_) => false,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => {
            status.is_some_and(|status| status >= 500 || status == 429)
                || code
                    .as_deref()
                    .is_some_and(|code| TRANSIENT_CODES.contains(&code))
        }
    };
    Fault {
        code,
        status,
        transient,
    }
}

/// Whether `error` is API Gateway's answer for a WebSocket client that has disconnected
/// (`GoneException`, HTTP 410).
pub(crate) fn is_gone<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    let fault = fault(error);
    fault.status == Some(410) || fault.is("GoneException")
}
