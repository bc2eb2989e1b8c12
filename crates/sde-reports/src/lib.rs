//! The reports' drawings, kept out of the core so only the functions that draw link them:
//!
//! - [`post_frequency_svg`]: a bar chart of posts per hour, day, week or month — a standalone
//!   SVG with a `viewBox`, a `<title>` and a `<desc>` giving the range and the total, labelled
//!   axes in UTC, and no script, that a browser shows in an `<img>`;
//! - [`trending_pdf`]: an A4 PDF with the range in its title, a bar chart of the top tags drawn
//!   by the same SVG code, and a table Tag | Posts | Share — the page is drawn as SVG and
//!   converted to PDF vector graphics by `svg2pdf`, text kept as text in the embedded fonts.
//!
//! Text is set in DejaVu Sans, which the `dejavu` crate ships (Bitstream Vera licence: free to
//! embed and redistribute), so nothing is downloaded and no system font is needed.

mod chart;
mod fonts;
mod frequency;
mod text;
mod trending;

pub use fonts::{FONT_FAMILY, font_database};
pub use frequency::{PostFrequency, post_frequency_svg};
pub use trending::{Trending, trending_page_svg, trending_pdf};

/// A report that could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The page could not be read back as SVG (a bug in the drawing code).
    #[error("drawing the report page")]
    Page(#[source] svg2pdf::usvg::Error),
    /// The PDF converter failed.
    #[error("converting the report to PDF: {0}")]
    Pdf(svg2pdf::ConversionError),
}
