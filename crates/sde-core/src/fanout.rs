//! Fanning a large export out: one pinned snapshot of the index, cut into slices that separate
//! runs export in parallel, each to an object of its own, composed into one file at the end.
//!
//! The plan is computed from the snapshot's exact total and a per-slice row budget, never asked
//! for per request; a result of at most one slice's budget keeps the single-run path.

use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::time::Duration;

/// A pinned point-in-time view of the index for one sliced export: every slice scanned from it
/// sees the same posts, whatever is written meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The index's handle for the snapshot (a point-in-time id on Elasticsearch, a pinned
    /// searcher's id locally). Opaque; it grants nothing beyond reading posts.
    pub id: String,
    /// Exact number of posts matching the query in the snapshot.
    pub total: u64,
}

/// Slice `index` of `count` of a snapshot's matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    pub index: u32,
    pub count: u32,
}

impl Slice {
    /// Whether this is a valid slice (`index < count`).
    pub fn is_valid(self) -> bool {
        self.index < self.count
    }

    /// The matches this slice owns when the snapshot's `total` matches are numbered in one
    /// stable scan order: contiguous ranges that differ in length by at most one and together
    /// cover `0..total` exactly once.
    pub fn range(self, total: u64) -> Range<u64> {
        let count = u128::from(self.count.max(1));
        let at = |i: u32| {
            let bound = u128::from(total) * u128::from(i) / count;
            u64::try_from(bound).unwrap_or(total)
        };
        at(self.index.min(self.count))..at((self.index + 1).min(self.count))
    }

    /// Whether this slice writes the file's preamble (header row, Excel BOM): only the first,
    /// so the composed file has it once, at its start.
    pub fn writes_preamble(self) -> bool {
        self.index == 0
    }
}

/// How exports are split, from the export function's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanOutSettings {
    /// Most rows one slice (one function run) writes. Keep it well inside the run's time limit
    /// at the slowest measured rate (see the README's "Large exports").
    pub rows_per_slice: u64,
    /// Most slices one export is cut into (a Map state runs at most its `MaxConcurrency` of them
    /// at once, which is what protects the cluster).
    pub max_slices: u32,
    /// How long the snapshot stays open after its last use.
    pub snapshot_keep_alive: Duration,
}

impl Default for FanOutSettings {
    fn default() -> Self {
        FanOutSettings {
            rows_per_slice: 2_000_000,
            max_slices: 64,
            snapshot_keep_alive: Duration::from_secs(20 * 60),
        }
    }
}

/// How many slices an export of `total` rows is cut into: enough that none exceeds the budget,
/// at least one, at most `max_slices` (past that, slices grow beyond the budget).
pub fn slice_count(total: u64, settings: &FanOutSettings) -> u32 {
    let budget = settings.rows_per_slice.max(1);
    let wanted = total.div_ceil(budget).max(1);
    u32::try_from(wanted)
        .unwrap_or(u32::MAX)
        .min(settings.max_slices.max(1))
}

/// The progress-board id under which slice `slice` of the export `export_id` records its own
/// progress; a board reads the export's progress as the sum over these (see
/// [`export_of_slice_progress`]).
pub fn slice_progress_id(export_id: &str, slice: Slice) -> String {
    format!(
        "{export_id}{SLICE_PROGRESS_MARK}{}-of-{}",
        slice.index, slice.count
    )
}

const SLICE_PROGRESS_MARK: &str = "#slice-";

/// The export a slice's progress id (made by [`slice_progress_id`]) belongs to; `None` for an
/// export's own id.
pub fn export_of_slice_progress(id: &str) -> Option<&str> {
    id.split_once(SLICE_PROGRESS_MARK).map(|(export, _)| export)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_every_match_exactly_once_in_near_equal_ranges() {
        for total in [0u64, 1, 2, 7, 100, 1_000_003] {
            for count in 1..=9u32 {
                let ranges: Vec<Range<u64>> = (0..count)
                    .map(|index| Slice { index, count }.range(total))
                    .collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[ranges.len() - 1].end, total);
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
                let lengths: Vec<u64> = ranges.iter().map(|r| r.end - r.start).collect();
                let (min, max) = (lengths.iter().min(), lengths.iter().max());
                assert!(
                    max.unwrap() - min.unwrap() <= 1,
                    "{total}/{count}: {lengths:?}"
                );
            }
        }
    }

    #[test]
    fn the_slice_count_keeps_each_slice_within_the_budget_up_to_the_maximum() {
        let settings = FanOutSettings {
            rows_per_slice: 1_000,
            max_slices: 8,
            ..FanOutSettings::default()
        };
        assert_eq!(slice_count(0, &settings), 1);
        assert_eq!(slice_count(1_000, &settings), 1, "one budget is one run");
        assert_eq!(slice_count(1_001, &settings), 2);
        assert_eq!(slice_count(7_999, &settings), 8);
        assert_eq!(slice_count(1_000_000, &settings), 8, "capped");
    }

    #[test]
    fn a_slice_progress_id_names_its_export() {
        let id = slice_progress_id("owner_abc", Slice { index: 2, count: 5 });
        assert_eq!(export_of_slice_progress(&id), Some("owner_abc"));
        assert_eq!(export_of_slice_progress("owner_abc"), None);
    }

    #[test]
    fn only_the_first_slice_writes_the_preamble() {
        assert!(Slice { index: 0, count: 3 }.writes_preamble());
        assert!(!Slice { index: 2, count: 3 }.writes_preamble());
        assert!(!Slice { index: 3, count: 3 }.is_valid());
    }
}
