//! The functions of sde — `search`, `download-request`, `report-status`, `generate-csv`,
//! `email-link`, `push-result`, `push-open-connection`, `report-graphical`, `report-hybrid`,
//! `release-export-slot`, `posts`, `subscriptions` (with unsubscribing by link), `exports`,
//! `notify-real-time`, the daily digests — as plain async functions over
//! typed input and the core traits. The Lambda binaries and the local stack both call these;
//! neither re-implements one.

pub mod api_error;
pub mod digests;
pub mod download_request;
pub mod email_link;
pub mod execution;
pub mod exports;
pub mod fan_out;
pub mod generate_csv;
pub mod notify;
pub mod posts;
pub mod push;
pub mod release_export_slot;
pub mod report_status;
pub mod reports;
pub mod search;
pub mod subscriptions;
pub mod task_failure;
pub mod unsubscribe_link;

pub use api_error::{ApiError, ApiErrorKind};
pub use execution::{DeliveryType, ExecutionInput, ExportOutput};
pub use release_export_slot::release_export_slot;
pub use task_failure::TaskFailure;
