//! Export progress kept in memory for `report-status`, and sent as progress frames to push
//! clients that asked for them.

use crate::hub::WsHub;
use crate::push_registry::MemoryPushRegistry;
use async_trait::async_trait;
use sde_core::{ExportProgress, ProgressBoard};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The local progress board.
#[derive(Debug)]
pub struct LocalProgressBoard {
    latest: Mutex<HashMap<String, ExportProgress>>,
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
}

#[async_trait]
impl ProgressBoard for LocalProgressBoard {
    fn record(&self, export_id: &str, progress: ExportProgress) {
        self.latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(export_id.to_owned(), progress);
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
        self.latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(export_id)
            .copied()
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
}
