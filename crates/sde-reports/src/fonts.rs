//! The fonts the reports are set in: DejaVu Sans regular and bold, from the `dejavu` crate.

use svg2pdf::usvg::fontdb::Database;

/// The `font-family` every text of the drawings names; browsers without DejaVu fall back to the
/// generic family after it.
pub const FONT_FAMILY: &str = "DejaVu Sans, Verdana, sans-serif";

/// A font database holding DejaVu Sans (regular and bold), the sans-serif default, for parsing
/// and rendering the drawings without any system font.
pub fn font_database() -> Database {
    let mut fonts = Database::new();
    fonts.load_font_data(dejavu::sans::regular().to_vec());
    fonts.load_font_data(dejavu::sans::bold().to_vec());
    fonts.set_sans_serif_family("DejaVu Sans");
    fonts
}
