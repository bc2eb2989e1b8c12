//! Export progress kept in memory for `report-status`, and sent as progress frames to push
//! clients that asked for them.

use crate::aging::AgingMap;
use crate::hub::WsHub;
use crate::push_registry::MemoryPushRegistry;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sde_core::{ExportProgress, ProgressBoard, export_of_slice_progress};
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
        // A slice's progress is kept as long as its export runs.
        self.latest().forget_written_before(cutoff, |id| {
            is_running(export_of_slice_progress(id).unwrap_or(id))
        })
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
    /// A slice's progress (see [`slice_progress_id`](sde_core::slice_progress_id)) is kept, and
    /// its export's progress becomes the sum over the slices recorded so far, which is what
    /// `report-status` reads and what push clients are sent.
    fn record(&self, id: &str, progress: ExportProgress) {
        let (export_id, progress) = match export_of_slice_progress(id) {
            None => {
                self.latest().insert(id, progress);
                (id, progress)
            }
            Some(export_id) => {
                let mut latest = self.latest();
                latest.insert(id, progress);
                let sum = latest
                    .iter()
                    .filter(|(key, _)| export_of_slice_progress(key) == Some(export_id))
                    .fold(ExportProgress::default(), |sum, (_, slice)| {
                        ExportProgress {
                            rows_written: sum.rows_written + slice.rows_written,
                            total_rows: sum.total_rows + slice.total_rows,
                        }
                    });
                latest.insert(export_id, sum);
                (export_id, sum)
            }
        };
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
    async fn a_sliced_exports_progress_is_the_sum_of_its_slices() {
        use sde_core::{Slice, slice_progress_id};
        let board = LocalProgressBoard::new(Arc::default(), Arc::default());
        let slice = |index| Slice { index, count: 3 };
        let at = |rows_written, total_rows| ExportProgress {
            rows_written,
            total_rows,
        };
        board.record(&slice_progress_id("big", slice(0)), at(10, 100));
        board.record(&slice_progress_id("big", slice(2)), at(5, 99));
        board.record(&slice_progress_id("other", slice(1)), at(7, 7));
        assert_eq!(board.read("big").await, Some(at(15, 199)));
        board.record(&slice_progress_id("big", slice(0)), at(60, 100));
        board.record(&slice_progress_id("big", slice(1)), at(1, 100));
        assert_eq!(board.read("big").await, Some(at(66, 299)));
        assert_eq!(board.read("other").await, Some(at(7, 7)));
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
