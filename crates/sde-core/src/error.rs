//! Shared error plumbing: the boxed cause every domain error keeps.

/// A cause kept inside a domain error, whatever library produced it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
