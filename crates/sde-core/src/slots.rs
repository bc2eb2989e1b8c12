//! The per-user limit on running exports, as a reservation: each export takes one of its
//! owner's slots before its execution starts and gives it back when the execution ends. Taking a
//! slot is one atomic step, so however many requests arrive at once, no owner holds more slots
//! than the limit. A slot also lapses at its expiry, so an execution that never reports its end
//! cannot hold one for ever. Implementations: DynamoDB conditional writes in AWS, a map under a
//! lock in the local stack.

use crate::error::BoxError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::fmt;

/// The answer to [`ExportSlots::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The export holds a slot until it is released or expires.
    Reserved,
    /// The owner already holds `held` unexpired slots, at least the limit; nothing was taken.
    Full { held: u32 },
}

/// Per-owner slots for running exports.
#[async_trait]
pub trait ExportSlots: Send + Sync + fmt::Debug {
    /// Takes a slot of `owner`'s for `export_id` until `expires_at`, unless `owner` already
    /// holds `limit` or more unexpired ones. Atomic: of any number of calls racing for one
    /// owner, at most as many succeed as there are free slots, never more. A slot whose
    /// `expires_at` has passed is free, whether or not the store has deleted it yet.
    async fn reserve(
        &self,
        owner: &str,
        export_id: &str,
        limit: u32,
        expires_at: DateTime<Utc>,
    ) -> Result<Reservation, ExportSlotsError>;

    /// Gives back the slot `owner` holds for `export_id`. Idempotent: when no slot is held for
    /// it (released before, never taken, or expired and since taken by another export) it
    /// succeeds and frees nothing.
    async fn release(&self, owner: &str, export_id: &str) -> Result<(), ExportSlotsError>;
}

/// What went wrong reserving or releasing a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportSlotsErrorKind {
    /// The store could not be reached or throttled us; trying again may succeed.
    Unavailable,
    /// The store refused the request (permissions, a missing table, bad input).
    Rejected,
}

impl fmt::Display for ExportSlotsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExportSlotsErrorKind::Unavailable => "export slots unavailable",
            ExportSlotsErrorKind::Rejected => "export slots store rejected the request",
        })
    }
}

/// A slot failure: its kind, what we were doing, and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind} while {context}")]
pub struct ExportSlotsError {
    pub kind: ExportSlotsErrorKind,
    context: String,
    #[source]
    source: Option<BoxError>,
}

impl ExportSlotsError {
    pub fn new(kind: ExportSlotsErrorKind, context: impl Into<String>) -> Self {
        ExportSlotsError {
            kind,
            context: context.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }
}
