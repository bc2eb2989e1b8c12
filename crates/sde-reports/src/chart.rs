//! The drawing both reports share: bar charts as SVG groups, vertical columns over a time axis
//! (post frequency) and horizontal bars over named rows (top tags), each with a value axis whose
//! ticks are round numbers. Every coordinate is computed inside the plot frame it is given, so
//! bars never leave it.

use crate::text::thousands;
use svg::node::element::{Group, Line, Rectangle, Text, Title};

pub(crate) const INK: &str = "#1f2937";
pub(crate) const MUTED: &str = "#6b7280";
const GRID: &str = "#e5e7eb";
const BAR: &str = "#2563eb";
const TICK_SIZE: f64 = 12.0;

/// Where a chart's bars go, in the drawing's user units.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Frame {
    fn right(&self) -> f64 {
        self.x + self.width
    }

    fn bottom(&self) -> f64 {
        self.y + self.height
    }
}

/// One column of a [`columns`] chart.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub value: u64,
    /// Lines of the tick label under the column; empty for no label.
    pub label: Vec<String>,
    /// What a pointer over the column shows.
    pub tooltip: String,
}

/// One row of a [`rows`] chart.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub label: String,
    pub value: u64,
}

/// Rounds to hundredths, so the SVG carries short numbers.
pub(crate) fn r(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The step and top of a value axis holding `max`: a step of 1, 2 or 5 × 10ⁿ, at most five
/// steps up to a top at or above `max` (an axis of nothing goes up to 1).
pub(crate) fn nice_ticks(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let mut magnitude: u64 = 1;
    loop {
        for multiple in [1, 2, 5] {
            let step = magnitude.saturating_mul(multiple);
            if step.saturating_mul(5) >= max {
                return (step, max.div_ceil(step) * step);
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

pub(crate) fn text(x: f64, y: f64, size: f64, anchor: &str, content: impl Into<String>) -> Text {
    Text::new(content)
        .set("x", r(x))
        .set("y", r(y))
        .set("font-size", size)
        .set("text-anchor", anchor)
        .set("fill", INK)
}

pub(crate) fn line(x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str) -> Line {
    Line::new()
        .set("x1", r(x1))
        .set("y1", r(y1))
        .set("x2", r(x2))
        .set("y2", r(y2))
        .set("stroke", stroke)
        .set("stroke-width", 1)
}

/// A message in the middle of an empty plot.
fn empty_note(frame: Frame, message: &str) -> Text {
    text(
        frame.x + frame.width / 2.0,
        frame.y + frame.height / 2.0,
        18.0,
        "middle",
        message,
    )
    .set("fill", MUTED)
    .set("class", "empty")
}

/// Vertical columns, evenly spaced over the frame's width, on a value axis at the left; each
/// label is drawn under its column. With no value above zero the plot says `empty_message`.
pub(crate) fn columns(frame: Frame, columns: &[Column], empty_message: &str) -> Group {
    let max = columns.iter().map(|column| column.value).max().unwrap_or(0);
    let (step, top) = nice_ticks(max);
    let mut group = Group::new().set("class", "chart");
    let mut value = 0;
    while value <= top {
        let y = frame.bottom() - frame.height * value as f64 / top as f64;
        group = group.add(line(frame.x, y, frame.right(), y, GRID)).add(
            text(frame.x - 8.0, y + 4.0, TICK_SIZE, "end", thousands(value)).set("class", "tick"),
        );
        value += step;
    }
    let slot = frame.width / columns.len().max(1) as f64;
    let width = (slot * 0.8).max(0.5).min(slot);
    let mut bars = Group::new().set("class", "bars").set("fill", BAR);
    let mut labels = Group::new().set("class", "labels");
    for (i, column) in columns.iter().enumerate() {
        let x = frame.x + slot * i as f64 + (slot - width) / 2.0;
        if column.value > 0 {
            let height = frame.height * column.value as f64 / top as f64;
            bars = bars.add(
                Rectangle::new()
                    .set("class", "bar")
                    .set("id", format!("bar-{i}"))
                    .set("x", r(x))
                    .set("y", r(frame.bottom() - height))
                    .set("width", r(width))
                    .set("height", r(height))
                    .add(Title::new(column.tooltip.clone())),
            );
        }
        if !column.label.is_empty() {
            let centre = frame.x + slot * (i as f64 + 0.5);
            labels = labels.add(line(
                centre,
                frame.bottom(),
                centre,
                frame.bottom() + 5.0,
                INK,
            ));
            for (n, label_line) in column.label.iter().enumerate() {
                let y = frame.bottom() + 20.0 + 15.0 * n as f64;
                let size = if n == 0 { TICK_SIZE } else { TICK_SIZE - 1.0 };
                labels = labels
                    .add(text(centre, y, size, "middle", label_line.clone()).set("class", "tick"));
            }
        }
    }
    group = group
        .add(bars)
        .add(line(frame.x, frame.bottom(), frame.right(), frame.bottom(), INK).set("id", "x-axis"))
        .add(line(frame.x, frame.y, frame.x, frame.bottom(), INK).set("id", "y-axis"))
        .add(labels);
    if max == 0 {
        group = group.add(empty_note(frame, empty_message));
    }
    group
}

/// Horizontal bars, one row each from the top, labels at the left of the frame in a column
/// `label_width` wide, values at the ends of the bars, and a value axis along the bottom.
pub(crate) fn rows(
    frame: Frame,
    label_width: f64,
    rows: &[Row],
    size: f64,
    empty_message: &str,
) -> Group {
    let max = rows.iter().map(|row| row.value).max().unwrap_or(0);
    let (step, top) = nice_ticks(max);
    // Room at the right for the value written after the longest bar.
    let plot = Frame {
        x: frame.x + label_width,
        width: frame.width - label_width - size * 4.0,
        ..frame
    };
    let mut group = Group::new().set("class", "chart");
    let mut value = 0;
    while value <= top {
        let x = plot.x + plot.width * value as f64 / top as f64;
        group = group.add(line(x, plot.y, x, plot.bottom(), GRID)).add(
            text(
                x,
                plot.bottom() + size + 4.0,
                size,
                "middle",
                thousands(value),
            )
            .set("class", "tick"),
        );
        value += step;
    }
    let slot = plot.height / rows.len().max(1) as f64;
    let thickness = slot * 0.7;
    let mut bars = Group::new().set("class", "bars").set("fill", BAR);
    let mut labels = Group::new().set("class", "labels");
    for (i, row) in rows.iter().enumerate() {
        let y = plot.y + slot * i as f64 + (slot - thickness) / 2.0;
        let baseline = y + thickness / 2.0 + size * 0.35;
        let length = plot.width * row.value as f64 / top as f64;
        bars = bars.add(
            Rectangle::new()
                .set("class", "bar")
                .set("id", format!("tag-bar-{i}"))
                .set("x", r(plot.x))
                .set("y", r(y))
                .set("width", r(length))
                .set("height", r(thickness))
                .add(Title::new(format!(
                    "{}: {} posts",
                    row.label,
                    thousands(row.value)
                ))),
        );
        labels = labels
            .add(text(plot.x - 6.0, baseline, size, "end", row.label.clone()))
            .add(
                text(
                    plot.x + length + 4.0,
                    baseline,
                    size,
                    "start",
                    thousands(row.value),
                )
                .set("fill", MUTED),
            );
    }
    group = group
        .add(bars)
        .add(line(plot.x, plot.y, plot.x, plot.bottom(), INK))
        .add(line(
            plot.x,
            plot.bottom(),
            plot.right(),
            plot.bottom(),
            INK,
        ))
        .add(labels);
    if rows.is_empty() {
        group = group.add(empty_note(plot, empty_message));
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_axes_end_on_a_round_number_at_or_above_the_largest_value() {
        assert_eq!(nice_ticks(0), (1, 1));
        assert_eq!(nice_ticks(4), (1, 4));
        assert_eq!(nice_ticks(7), (2, 8));
        assert_eq!(nice_ticks(23), (5, 25));
        assert_eq!(nice_ticks(1_234), (500, 1_500));
        assert_eq!(nice_ticks(1_000_000), (200_000, 1_000_000));
        for max in [1, 9, 10, 11, 99, 101, 4_999, 123_456_789] {
            let (step, top) = nice_ticks(max);
            assert!(top >= max && top / step <= 5, "{max}: {step} {top}");
        }
    }
}
