//! The trending-tags report: one A4 page — the range in the title, a bar chart of the top tags,
//! and a table Tag | Posts | Share — drawn as SVG by the shared chart code and converted to PDF
//! vector graphics with the fonts embedded.

use crate::ReportError;
use crate::chart::{self, Frame, INK, MUTED, Row};
use crate::fonts::{FONT_FAMILY, font_database};
use crate::text::{range, share, shorten, thousands};
use chrono::{DateTime, Utc};
use sde_core::TopTags;
use std::sync::Arc;
use svg::Document;
use svg::node::element::{Description, Rectangle, Title};
use svg2pdf::usvg;

/// A4 in PostScript points (1/72 in): svg2pdf, at its 72 dpi, makes one user unit one point.
const A4_WIDTH: f64 = 595.28;
const A4_HEIGHT: f64 = 841.89;
const MARGIN: f64 = 42.0;
/// Longest tag shown in full, in characters.
const TAG_CHARS: usize = 22;

/// What the report shows: the top tags of the posts of `from <= t < to`.
#[derive(Debug, Clone, Copy)]
pub struct Trending<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub top: &'a TopTags,
}

/// The report's page as SVG, A4 in points: what [`trending_pdf`] converts.
pub fn trending_page_svg(report: &Trending<'_>) -> String {
    let top = report.top;
    let title = "Trending tags";
    let period = range(report.from, report.to);
    let rows: Vec<Row> = top
        .tags
        .iter()
        .map(|tag| Row {
            label: shorten(&tag.tag, TAG_CHARS),
            value: tag.posts,
        })
        .collect();
    let width = A4_WIDTH - 2.0 * MARGIN;
    let chart_frame = Frame {
        x: MARGIN,
        y: 128.0,
        width,
        height: 300.0,
    };
    let mut page = Document::new()
        .set("viewBox", (0, 0, A4_WIDTH, A4_HEIGHT))
        .set("width", A4_WIDTH)
        .set("height", A4_HEIGHT)
        .set("font-family", FONT_FAMILY)
        .add(Title::new(format!("{title}, {period}")))
        .add(Description::new().add(svg::node::Text::new(format!(
            "The {} tags most posts carried from {period}, of {} posts.",
            top.tags.len(),
            thousands(top.posts)
        ))))
        .add(
            Rectangle::new()
                .set("width", A4_WIDTH)
                .set("height", A4_HEIGHT)
                .set("fill", "#ffffff"),
        )
        .add(chart::text(MARGIN, 62.0, 20.0, "start", title).set("font-weight", "bold"))
        .add(chart::text(MARGIN, 84.0, 11.0, "start", period).set("fill", MUTED))
        .add(
            chart::text(
                MARGIN,
                112.0,
                11.0,
                "start",
                format!(
                    "Top {} tags of {} posts (UTC)",
                    top.tags.len(),
                    thousands(top.posts)
                ),
            )
            .set("font-weight", "bold"),
        )
        .add(chart::rows(
            chart_frame,
            130.0,
            &rows,
            8.5,
            "No tagged posts in this range",
        ));

    // The table: a header, then one line per tag.
    let table_top = 470.0;
    let line_height = 14.5;
    let columns = [
        (MARGIN + 4.0, "start", "Tag"),
        (MARGIN + width * 0.72, "end", "Posts"),
        (MARGIN + width - 4.0, "end", "Share"),
    ];
    for (x, anchor, heading) in columns {
        page = page.add(
            chart::text(x, table_top, 9.5, anchor, heading)
                .set("font-weight", "bold")
                .set("class", "table-head"),
        );
    }
    page = page.add(chart::line(
        MARGIN,
        table_top + 5.0,
        MARGIN + width,
        table_top + 5.0,
        INK,
    ));
    for (i, tag) in top.tags.iter().enumerate() {
        let y = table_top + line_height * (i as f64 + 1.0) + 2.0;
        let cells = [
            shorten(&tag.tag, TAG_CHARS * 2),
            thousands(tag.posts),
            share(tag.posts, top.posts),
        ];
        for ((x, anchor, _), cell) in columns.iter().zip(cells) {
            page = page.add(chart::text(*x, y, 9.5, anchor, cell).set("class", "table-cell"));
        }
    }
    if top.tags.is_empty() {
        page = page.add(
            chart::text(
                MARGIN + 4.0,
                table_top + line_height + 2.0,
                9.5,
                "start",
                "No tagged posts in this range",
            )
            .set("fill", MUTED),
        );
    }
    page.add(
        chart::text(
            MARGIN,
            A4_HEIGHT - 30.0,
            8.0,
            "start",
            "Share: the part of all posts in the range that carry the tag. Counts from the index's aggregations.",
        )
        .set("fill", MUTED),
    )
    .to_string()
}

/// The report as a one-page A4 PDF: the page of [`trending_page_svg`] as vector graphics, its
/// text as text in DejaVu Sans, embedded (subset) so any reader shows and extracts it.
pub fn trending_pdf(report: &Trending<'_>) -> Result<Vec<u8>, ReportError> {
    let page = trending_page_svg(report);
    let options = usvg::Options {
        font_family: "DejaVu Sans".to_owned(),
        fontdb: Arc::new(font_database()),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(&page, &options).map_err(ReportError::Page)?;
    svg2pdf::to_pdf(
        &tree,
        svg2pdf::ConversionOptions::default(),
        svg2pdf::PageOptions::default(),
    )
    .map_err(ReportError::Pdf)
}
