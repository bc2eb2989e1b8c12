//! Shared error plumbing: the boxed cause every domain error keeps, and the one way an error
//! and its causes are written out for a log line or a task's cause.

use std::error::Error;

/// A cause kept inside a domain error, whatever library produced it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error and its causes joined for a person to read, e.g. "writing the export file failed:
/// object store unavailable while uploading part 3: connection reset".
pub fn describe_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("writing the export file failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_chain_reads_from_the_outer_error_to_the_root_cause() {
        let error = Outer(std::io::Error::other("connection reset"));
        assert_eq!(
            describe_chain(&error),
            "writing the export file failed: connection reset"
        );
    }
}
