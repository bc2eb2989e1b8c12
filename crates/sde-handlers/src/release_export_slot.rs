//! `release-export-slot`: an export's execution has ended — succeeded, failed, timed out or
//! aborted — so the slot it held is its owner's to use again. On AWS, EventBridge's Step
//! Functions "Execution Status Change" event calls it; locally, the workflow's end of an
//! execution.

use crate::download_request::owner_of_export;
use sde_core::{ExportSlots, ExportSlotsError};
use tracing::{info, warn};

/// Gives back the slot held for the execution named `execution_name` (an export id). Releasing
/// is idempotent, so an end reported twice frees one slot; a name that is not an export id holds
/// no slot and is ignored.
pub async fn release_export_slot(
    slots: &dyn ExportSlots,
    execution_name: &str,
) -> Result<(), ExportSlotsError> {
    let Some(owner) = owner_of_export(execution_name) else {
        warn!(
            execution_name,
            "an execution that is no export ended; no slot to give back"
        );
        return Ok(());
    };
    slots.release(owner, execution_name).await?;
    info!(export_id = execution_name, "export slot released");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use sde_core::Reservation;
    use std::sync::Mutex;

    /// Records what is released.
    #[derive(Debug, Default)]
    struct Releases(Mutex<Vec<(String, String)>>);

    #[async_trait::async_trait]
    impl ExportSlots for Releases {
        async fn reserve(
            &self,
            _: &str,
            _: &str,
            _: u32,
            _: DateTime<Utc>,
        ) -> Result<Reservation, ExportSlotsError> {
            unreachable!("an ended export reserves nothing")
        }
        async fn release(&self, owner: &str, export_id: &str) -> Result<(), ExportSlotsError> {
            self.0
                .lock()
                .unwrap()
                .push((owner.to_owned(), export_id.to_owned()));
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_ended_export_gives_back_its_owners_slot_and_another_execution_nothing() {
        let releases = Releases::default();
        let export_id = "3f1c2d9e-7b4a-4c1e-9d2f-0a1b2c3d4e5f_0123456789abcdef0123456789abcdef";
        release_export_slot(&releases, export_id).await.unwrap();
        release_export_slot(&releases, "hand-started")
            .await
            .unwrap();
        assert_eq!(
            *releases.0.lock().unwrap(),
            vec![(
                "3f1c2d9e-7b4a-4c1e-9d2f-0a1b2c3d4e5f".to_owned(),
                export_id.to_owned()
            )]
        );
    }
}
