//! The `ProgressBoard` contract: progress recorded for an export is read back, by the board
//! `report-status` reads (in AWS another function's instance), once the recording side has
//! settled the way the implementation documents; the last value recorded wins; exports are kept
//! apart; an export never recorded is `None`; and `record` never waits — it is called in a tight
//! loop with no `.await` between the calls, on the caller's runtime. Under `#[tokio::test]`
//! that runtime has one thread, so a `record` that waited for its store's I/O on it would never
//! return (or would panic, blocking inside the runtime). Run by the local board's unit tests
//! (sde-local; its reader is the board itself and settling is nothing) and by
//! `S3ProgressBoard`'s tests against moto's S3 (sde-aws; the reader is a second board over the
//! same bucket, and settling is the recording board's `flush()`).
//!
//! A sliced export's slices record under their own ids ([`slice_progress_id`]), and reading the
//! export answers the sum of the slices recorded so far — what status polls and push frames show.

use crate::{ExportProgress, ProgressBoard, Slice, slice_progress_id};
use std::future::Future;

fn progress(rows_written: u64, total_rows: u64) -> ExportProgress {
    ExportProgress {
        rows_written,
        total_rows,
    }
}

/// Runs the progress-board contract: `board` records, `reader` reads (it may be `board`), and
/// `settle` is awaited after recording and before reading — whatever the implementation
/// documents a writer does before its progress is visible to others (a flush), or nothing.
/// Export ids are made fresh, so a shared, long-lived store may be given.
pub async fn progress_board_contract<S, Fut>(
    board: &dyn ProgressBoard,
    reader: &dyn ProgressBoard,
    settle: S,
) where
    S: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    // Export ids are execution names: `<owner sub>_<hex>`.
    let export = super::unique("3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b_");
    let other = format!("{export}0");

    assert_eq!(reader.read(&export).await, None, "never recorded");
    assert_eq!(board.read(&export).await, None, "never recorded");

    // A thousand records, as the export loop makes them, without a pause: the last one wins.
    for batch in 1..=1000u64 {
        board.record(&export, progress(batch * 50, 50_000));
    }
    settle().await;
    assert_eq!(
        reader.read(&export).await,
        Some(progress(50_000, 50_000)),
        "the last progress recorded is read"
    );
    assert_eq!(reader.read(&other).await, None, "another export has none");

    // Another export's progress leaves the first's alone.
    board.record(&other, progress(1, 7));
    settle().await;
    assert_eq!(reader.read(&other).await, Some(progress(1, 7)));
    assert_eq!(reader.read(&export).await, Some(progress(50_000, 50_000)));

    // A later record replaces a settled one; a total may still change (a refined count).
    board.record(&other, progress(7, 8));
    settle().await;
    assert_eq!(reader.read(&other).await, Some(progress(7, 8)));

    // A sliced export: each slice records under its own id, the export reads as their sum.
    let sliced = super::unique("3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b_");
    let slice = |index| slice_progress_id(&sliced, Slice { index, count: 3 });
    assert_eq!(
        reader.read(&sliced).await,
        None,
        "no slice has recorded yet"
    );
    board.record(&slice(0), progress(10, 100));
    board.record(&slice(2), progress(5, 90));
    settle().await;
    assert_eq!(
        reader.read(&sliced).await,
        Some(progress(15, 190)),
        "the sum of the slices recorded so far"
    );
    for rows in 1..=100 {
        board.record(&slice(0), progress(rows, 100));
    }
    board.record(&slice(1), progress(3, 95));
    settle().await;
    assert_eq!(
        reader.read(&sliced).await,
        Some(progress(108, 285)),
        "each slice's last progress counts once"
    );
    assert_eq!(reader.read(&export).await, Some(progress(50_000, 50_000)));
}
