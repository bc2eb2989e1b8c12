//! Export progress kept in memory for `report-status`, and sent as progress frames to push
//! clients that asked for them.

use crate::aging::AgingMap;
use crate::hub::WsHub;
use crate::push_registry::MemoryPushRegistry;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sde_core::{ExportProgress, ProgressBoard};
use serde_json::json;
use std::sync::{Arc, Mutex, MutexGuard};

/// The local progress board.
#[derive(Debug)]
pub struct LocalProgressBoard {
    latest: Mutex<AgingMap<ExportProgress>>,
    registry: Arc<MemoryPushRegistry>,
    hub: Arc<WsHub>,
}

impl LocalProgressBoard {
    pub fn new(registry: Arc<MemoryPushRegistry>, hub: Arc<WsHub>) -> Self {
        LocalProgressBoard {
            latest: Mutex::default(),
            registry,
            hub,
        }
    }

    fn latest(&self) -> MutexGuard<'_, AgingMap<ExportProgress>> {
        self.latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets progress recorded before `cutoff`, except that of the exports `is_running`
    /// names by id; returns how many exports' progress.
    pub fn forget_written_before(
        &self,
        cutoff: DateTime<Utc>,
        is_running: impl Fn(&str) -> bool,
    ) -> usize {
        self.latest().forget_written_before(cutoff, is_running)
    }

    /// How many exports' progress is kept.
    pub fn len(&self) -> usize {
        self.latest().len()
    }

    /// Whether no progress is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ProgressBoard for LocalProgressBoard {
    fn record(&self, export_id: &str, progress: ExportProgress) {
        self.latest().insert(export_id, progress);
        if let Some(connection) = self.registry.connection_for_export(export_id)
            && connection.wants_progress
        {
            let frame = json!({ "progress": {
                "rowsWritten": progress.rows_written, "totalRows": progress.total_rows } });
            // A slow or vanished client misses a progress frame; the export never waits for it.
            let _ = self.hub.try_post(&connection.connection_id, &frame);
        }
    }

    async fn read(&self, export_id: &str) -> Option<ExportProgress> {
        self.latest().get(export_id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_board_keeps_the_progress_board_contract() {
        // One process records and reads; nothing needs settling.
        let board = LocalProgressBoard::new(Arc::default(), Arc::default());
        sde_core::testing::progress_board_contract(&board, &board, || async {}).await;
    }

    #[tokio::test]
    async fn progress_is_forgotten_once_older_than_the_cutoff() {
        let board = LocalProgressBoard::new(Arc::default(), Arc::default());
        let progress = ExportProgress {
            rows_written: 1,
            total_rows: 2,
        };
        board.record("a", progress);
        let later = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(board.forget_written_before(later, |id| id == "a"), 0);
        assert_eq!(board.read("a").await, Some(progress));
        assert_eq!(board.forget_written_before(later, |_| false), 1);
        assert_eq!(board.read("a").await, None);
        assert!(board.is_empty());
    }
}
