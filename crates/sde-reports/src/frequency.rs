//! The post-frequency chart: one column per bucket of the range, as a standalone SVG.

use crate::chart::{self, Column, Frame, MUTED};
use crate::fonts::FONT_FAMILY;
use crate::text::{moment, range, thousands};
use chrono::{DateTime, Datelike, Utc};
use sde_core::{Bucket, BucketCount};
use svg::Document;
use svg::node::element::{Description, Rectangle, Title};

/// Width and height of the chart's `viewBox`.
const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 540.0;
/// Most tick labels along the time axis; the others are left out evenly.
const MAX_LABELS: usize = 12;

/// What the chart shows: the posts per `bucket` of `from <= t < to`, one bar per bucket in
/// order (as [`sde_core::fill_buckets`] makes them).
#[derive(Debug, Clone, Copy)]
pub struct PostFrequency<'a> {
    pub bucket: Bucket,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bars: &'a [BucketCount],
}

impl PostFrequency<'_> {
    /// Posts in the whole range.
    pub fn total(&self) -> u64 {
        self.bars.iter().map(|bar| bar.posts).sum()
    }
}

/// The chart as an SVG document: `<title>`, a `<desc>` with the range and the total, a heading,
/// the value axis at the left, the columns, the time axis in UTC under them. A range without
/// posts draws the same axes and says "No posts in this range".
pub fn post_frequency_svg(chart: &PostFrequency<'_>) -> String {
    let total = chart.total();
    let per = chart.bucket.name();
    let title = format!("Posts per {per}");
    let description = format!(
        "Posts per {per} from {} to {}: {} posts in total, {} bars.",
        moment(chart.from),
        moment(chart.to),
        thousands(total),
        chart.bars.len()
    );
    let frame = Frame {
        x: 80.0,
        y: 90.0,
        width: WIDTH - 80.0 - 30.0,
        height: HEIGHT - 90.0 - 110.0,
    };
    let columns: Vec<Column> = labelled(chart)
        .into_iter()
        .zip(chart.bars)
        .map(|(label, bar)| Column {
            value: bar.posts,
            label,
            tooltip: format!("{}: {} posts", moment(bar.start), thousands(bar.posts)),
        })
        .collect();
    Document::new()
        .set("viewBox", (0, 0, WIDTH, HEIGHT))
        .set("width", WIDTH)
        .set("height", HEIGHT)
        .set("role", "img")
        .set("font-family", FONT_FAMILY)
        .add(Title::new(title.clone()))
        .add(Description::new().add(svg::node::Text::new(description)))
        .add(
            Rectangle::new()
                .set("width", WIDTH)
                .set("height", HEIGHT)
                .set("fill", "#ffffff"),
        )
        .add(chart::text(40.0, 38.0, 22.0, "start", title).set("font-weight", "bold"))
        .add(
            chart::text(
                40.0,
                64.0,
                14.0,
                "start",
                format!(
                    "{} · {} posts",
                    range(chart.from, chart.to),
                    thousands(total)
                ),
            )
            .set("fill", MUTED),
        )
        .add(chart::columns(frame, &columns, "No posts in this range"))
        .add(
            chart::text(
                frame.x + frame.width,
                HEIGHT - 22.0,
                12.0,
                "end",
                format!("Time (UTC), one bar per {per}"),
            )
            .set("fill", MUTED),
        )
        .to_string()
}

/// The tick label of each bar: every `stride`-th bar is labelled, with its time and, when it
/// differs from the previous label's, the larger unit (the day of an hour, the year of a day).
fn labelled(chart: &PostFrequency<'_>) -> Vec<Vec<String>> {
    let stride = chart.bars.len().div_ceil(MAX_LABELS).max(1);
    let mut previous: Option<DateTime<Utc>> = None;
    chart
        .bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            if i % stride != 0 {
                return Vec::new();
            }
            let at = bar.start;
            let (first, second, changed) = match chart.bucket {
                Bucket::Hour => (
                    at.format("%H:%M"),
                    at.format("%-d %b"),
                    previous.is_none_or(|p| p.date_naive() != at.date_naive()),
                ),
                Bucket::Day | Bucket::Week => (
                    at.format("%-d %b"),
                    at.format("%Y"),
                    previous.is_none_or(|p| p.year() != at.year()),
                ),
                Bucket::Month => (
                    at.format("%b"),
                    at.format("%Y"),
                    previous.is_none_or(|p| p.year() != at.year()),
                ),
            };
            previous = Some(at);
            let mut label = vec![first.to_string()];
            if changed {
                label.push(second.to_string());
            }
            label
        })
        .collect()
}
