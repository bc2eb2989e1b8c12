//! Mapping tantivy's errors onto the domain's [`IndexError`] kinds, keeping the cause.

use sde_core::{IndexError, IndexErrorKind};
use tantivy::TantivyError;

/// Wraps a tantivy error met while doing `context`, choosing the kind from what went wrong.
pub(crate) fn from_tantivy(context: impl Into<String>, error: TantivyError) -> IndexError {
    let kind = match &error {
        // A busy lock means another writer holds the index: trying later may succeed.
        TantivyError::LockFailure(..) | TantivyError::IoError(_) => IndexErrorKind::Unavailable,
        TantivyError::InvalidArgument(_) | TantivyError::SchemaError(_) => IndexErrorKind::Rejected,
        _ => IndexErrorKind::Corrupt,
    };
    IndexError::new(kind, context).with_source(error)
}

/// Wraps the failure of a blocking task (it panicked or was cancelled).
pub(crate) fn from_join(context: impl Into<String>, error: tokio::task::JoinError) -> IndexError {
    IndexError::new(IndexErrorKind::Unavailable, context).with_source(error)
}
