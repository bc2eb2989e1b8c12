//! Row encoders: CSV per RFC 4180 (written by csv-core) with spreadsheet-formula
//! neutralisation, and NDJSON.
//!
//! Encoders append to a caller-owned buffer so the pipeline reuses one allocation per batch.

use crate::options::{Column, ExportFormat, ExportOptions};
use crate::post::{Post, UserId};
use chrono::{DateTime, Offset as _, SecondsFormat, TimeZone as _, Utc};
use chrono_tz::Tz;
use csv_core::{QuoteStyle, Terminator, WriteResult};

/// UTF-8 byte order mark, written first when `excelCompatible` is set.
pub const UTF8_BOM: &[u8] = "\u{feff}".as_bytes();

/// Characters that make a spreadsheet read a cell starting with them as a formula: the OWASP
/// list (`=`, `+`, `-`, `@`, tab, CR, LF), NUL, which LibreOffice drops before it looks, and the
/// full-width `＝ ＋ － ＠` that some spreadsheets fold to their ASCII forms.
const FORMULA_TRIGGERS: [char; 12] = [
    '=', '+', '-', '@', '\t', '\r', '\n', '\0', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
];

/// Bytes after which a spreadsheet may start a new cell inside one of ours: `;` and tab are
/// other locales' separators, and CR or LF end a row for a reader splitting on those. Quoting
/// does not protect what follows them: LibreOffice honours a quote only where its own
/// separator starts a field, so `a,"x;=1"` read with `;` holds the cell `=1"`.
const CELL_BREAKS: [u8; 4] = [b';', b'\t', b'\r', b'\n'];

/// The prefix that makes a spreadsheet read a formula-looking cell as text.
pub const FORMULA_GUARD: char = '\'';

/// Whether [`write_formula_guarded`] would add a [`FORMULA_GUARD`] to this CSV text cell.
pub fn needs_formula_guard(cell: &str) -> bool {
    cell.starts_with(FORMULA_TRIGGERS)
        // Tab, LF and CR are below 0x0E: one test finds them (and rarer control characters).
        || (contains_any(cell.as_bytes(), [b';'], 0x0E) && inner_guards(cell).next().is_some())
}

/// Appends `cell` to `out` with a [`FORMULA_GUARD`] before its first character if that is a
/// formula trigger (`= + - @`, tab, CR, LF, NUL, `＝ ＋ － ＠`), and after every run of `;`, tab,
/// CR and LF that a trigger follows, so that no cell a spreadsheet cuts out of it at those
/// starts a formula.
pub fn write_formula_guarded(cell: &str, out: &mut String) {
    if cell.starts_with(FORMULA_TRIGGERS) {
        out.push(FORMULA_GUARD);
    }
    let mut written = 0;
    for at in inner_guards(cell) {
        out.push_str(&cell[written..at]);
        out.push(FORMULA_GUARD);
        written = at;
    }
    out.push_str(&cell[written..]);
}

/// Byte offsets in `cell` that follow a run of [`CELL_BREAKS`] and start with a formula
/// trigger other than a break.
fn inner_guards(cell: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = cell.as_bytes();
    // Offsets after an ASCII break are character boundaries.
    (1..bytes.len()).filter(move |&at| {
        CELL_BREAKS.contains(&bytes[at - 1])
            && !CELL_BREAKS.contains(&bytes[at])
            && cell[at..].starts_with(FORMULA_TRIGGERS)
    })
}

/// Encodes posts as rows of one export file.
#[derive(Debug)]
pub struct RowEncoder {
    format: ExportFormat,
    columns: Vec<Column>,
    time_zone: Tz,
    excel_compatible: bool,
    csv: csv_core::Writer,
    /// The `Tags` cell being written.
    tags: String,
    /// A text cell with its formula guards.
    guarded: String,
    /// A number or date being written.
    rendered: Vec<u8>,
}

impl RowEncoder {
    pub fn new(options: &ExportOptions) -> Self {
        RowEncoder {
            format: options.format,
            columns: options.columns.clone(),
            time_zone: options.time_zone,
            excel_compatible: options.excel_compatible,
            // RFC 4180: CRLF row ends; a field holding a comma, a quote, CR or LF is quoted,
            // with inner quotes doubled.
            csv: csv_core::WriterBuilder::new()
                .terminator(Terminator::CRLF)
                .quote_style(QuoteStyle::Necessary)
                .double_quote(true)
                .build(),
            tags: String::with_capacity(256),
            guarded: String::with_capacity(256),
            rendered: Vec::with_capacity(64),
        }
    }

    /// Writes what precedes the first row: the BOM if asked for, and the CSV header. An export
    /// of no posts is exactly this.
    pub fn write_preamble(&mut self, out: &mut Vec<u8>) {
        if self.format != ExportFormat::Csv {
            return;
        }
        if self.excel_compatible {
            out.extend_from_slice(UTF8_BOM);
        }
        let mut out = Lent::new(out, 64);
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.delimiter(&mut self.csv);
            }
            out.field(&mut self.csv, column.name().as_bytes());
        }
        out.terminator(&mut self.csv);
        out.finish();
    }

    /// Appends one row for `post`.
    pub fn write_post(&mut self, post: &Post, out: &mut Vec<u8>) {
        match self.format {
            ExportFormat::Csv => self.write_csv_row(post, out),
            ExportFormat::Ndjson => self.write_ndjson_row(post, out),
        }
    }

    fn write_csv_row(&mut self, post: &Post, out: &mut Vec<u8>) {
        let mut out = Lent::new(out, row_room(post));
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.delimiter(&mut self.csv);
            }
            let field = match column {
                Column::Uuid => formula_safe(&post.id, &mut self.guarded).as_bytes(),
                Column::UserID => match &post.user_id {
                    UserId::Int(n) => {
                        self.rendered.clear();
                        write_int(*n, &mut self.rendered);
                        &self.rendered
                    }
                    UserId::Text(text) => formula_safe(text, &mut self.guarded).as_bytes(),
                },
                // A timestamp starts with a digit (years 0–9999; others start with a sign and
                // are not guarded, as ever).
                Column::DateCreated => {
                    self.rendered.clear();
                    render_date(post.date_created, self.time_zone, &mut self.rendered);
                    &self.rendered
                }
                Column::Content => formula_safe(&post.content, &mut self.guarded).as_bytes(),
                Column::Tags => {
                    join_tags(post, &mut self.tags);
                    formula_safe(&self.tags, &mut self.guarded).as_bytes()
                }
            };
            out.field(&mut self.csv, field);
        }
        out.terminator(&mut self.csv);
        out.finish();
    }

    fn write_ndjson_row(&mut self, post: &Post, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_str(column.name(), out);
            out.push(b':');
            match column {
                Column::Uuid => write_json_str(&post.id, out),
                Column::UserID => match &post.user_id {
                    UserId::Int(n) => write_int(*n, out),
                    UserId::Text(text) => write_json_str(text, out),
                },
                // A timestamp needs no JSON escaping.
                Column::DateCreated => {
                    out.push(b'"');
                    render_date(post.date_created, self.time_zone, out);
                    out.push(b'"');
                }
                Column::Content => write_json_str(&post.content, out),
                Column::Tags => {
                    out.push(b'[');
                    for (j, tag) in post.tags.iter().enumerate() {
                        if j > 0 {
                            out.push(b',');
                        }
                        write_json_str(tag, out);
                    }
                    out.push(b']');
                }
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

/// Writes `at` in `time_zone` exactly as chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)`
/// does, without allocating: this runs once per row, and the date is the costliest cell to
/// render. Leap seconds and years outside 0–9999 take chrono's own (allocating) path.
fn render_date(at: DateTime<Utc>, time_zone: Tz, out: &mut Vec<u8>) {
    let offset_secs = if time_zone == Tz::UTC {
        0
    } else {
        time_zone
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc()
    };
    let nanos = at.timestamp_subsec_nanos();
    let local_secs = at.timestamp() + i64::from(offset_secs);
    let (year, month, day) = civil_from_days(local_secs.div_euclid(86_400));
    if nanos >= 1_000_000_000 || !(0..=9999).contains(&year) {
        let local = at.with_timezone(&time_zone);
        out.extend_from_slice(
            local
                .to_rfc3339_opts(SecondsFormat::AutoSi, true)
                .as_bytes(),
        );
        return;
    }
    let second_of_day = local_secs.rem_euclid(86_400) as u32;
    out.reserve(35);
    push_digits(out, year as u32, 4);
    out.push(b'-');
    push_digits(out, month, 2);
    out.push(b'-');
    push_digits(out, day, 2);
    out.push(b'T');
    push_digits(out, second_of_day / 3600, 2);
    out.push(b':');
    push_digits(out, second_of_day / 60 % 60, 2);
    out.push(b':');
    push_digits(out, second_of_day % 60, 2);
    if nanos == 0 {
    } else if nanos.is_multiple_of(1_000_000) {
        out.push(b'.');
        push_digits(out, nanos / 1_000_000, 3);
    } else if nanos.is_multiple_of(1_000) {
        out.push(b'.');
        push_digits(out, nanos / 1_000, 6);
    } else {
        out.push(b'.');
        push_digits(out, nanos, 9);
    }
    if offset_secs == 0 {
        out.push(b'Z');
    } else {
        out.push(if offset_secs < 0 { b'-' } else { b'+' });
        // Rounded to the nearest minute, as chrono does for historical offsets with seconds.
        let minutes = (offset_secs.unsigned_abs() + 30) / 60;
        push_digits(out, minutes / 60, 2);
        out.push(b':');
        push_digits(out, minutes % 60, 2);
    }
}

/// Writes the last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut Vec<u8>, value: u32, width: u32) {
    if width == 2 {
        out.extend_from_slice(&[b'0' + (value / 10 % 10) as u8, b'0' + (value % 10) as u8]);
        return;
    }
    let mut divisor = 10u32.pow(width - 1);
    for _ in 0..width {
        out.push(b'0' + (value / divisor % 10) as u8);
        divisor /= 10;
    }
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Writes an integer in decimal, as `{n}` formats it.
fn write_int(n: i64, out: &mut Vec<u8>) {
    // serde_json writes integers with `itoa`; into a Vec this cannot fail.
    let _ = serde_json::to_writer(&mut *out, &n);
}

fn join_tags(post: &Post, out: &mut String) {
    out.clear();
    for (i, tag) in post.tags.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(tag);
    }
}

/// `cell` as a CSV file holds it: itself, or its formula-guarded copy in `guarded`.
fn formula_safe<'a>(cell: &'a str, guarded: &'a mut String) -> &'a str {
    if !needs_formula_guard(cell) {
        return cell;
    }
    guarded.clear();
    write_formula_guarded(cell, guarded);
    guarded
}

/// The end of a caller's buffer lent to csv-core, which writes into byte slices: zeroed room is
/// added to `out` (more whenever csv-core reports it full), and `finish` cuts off what was not
/// written.
struct Lent<'a> {
    out: &'a mut Vec<u8>,
    written: usize,
}

impl<'a> Lent<'a> {
    fn new(out: &'a mut Vec<u8>, room: usize) -> Self {
        let written = out.len();
        out.resize(written + room, 0);
        Lent { out, written }
    }

    /// Appends one field, quoted if it needs to be.
    fn field(&mut self, csv: &mut csv_core::Writer, field: &[u8]) {
        let mut rest = field;
        self.write(|room| {
            let (result, read, written) = csv.field(rest, room);
            rest = &rest[read..];
            (result, written)
        });
    }

    /// Ends the field being written (its closing quote) and appends the comma.
    fn delimiter(&mut self, csv: &mut csv_core::Writer) {
        self.write(|room| csv.delimiter(room));
    }

    /// Ends the row: the closing quote of its last field, `""` if the row is one empty field
    /// (readers skip a blank line), and CRLF.
    fn terminator(&mut self, csv: &mut csv_core::Writer) {
        self.write(|room| csv.terminator(room));
    }

    /// Runs a csv-core step, which says whether it used up its input and how many bytes it
    /// wrote, until it has, adding room whenever it reports the output full.
    fn write(&mut self, mut step: impl FnMut(&mut [u8]) -> (WriteResult, usize)) {
        loop {
            let (result, written) = step(&mut self.out[self.written..]);
            self.written += written;
            if result == WriteResult::InputEmpty {
                return;
            }
            let room = 2 * (self.out.len() - self.written).max(64);
            self.out.resize(self.written + room, 0);
        }
    }

    fn finish(self) {
        self.out.truncate(self.written);
    }
}

/// Room for a CSV row of `post` unless quotes or guards lengthen it.
fn row_room(post: &Post) -> usize {
    let user = match &post.user_id {
        UserId::Int(_) => 20,
        UserId::Text(text) => text.len(),
    };
    let tags: usize = post.tags.iter().map(|tag| tag.len() + 1).sum();
    // Dates take at most 35 bytes; quotes, commas and CRLF fit in the rest.
    post.id.len() + user + post.content.len() + tags + 64
}

/// Writes `text` as a JSON string literal.
fn write_json_str(text: &str, out: &mut Vec<u8>) {
    // Most cells need no escaping (serde_json escapes only `"`, `\` and bytes below 0x20); copy
    // those whole and leave the rest to serde_json, so the bytes are the same either way.
    if !contains_any(text.as_bytes(), [b'"', b'\\'], 0x20) {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        return;
    }
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Whether `bytes` holds any of `needles`, or any byte below `below` (0 for none), testing
/// eight bytes at a time: a cell is scanned once per row, and most cells hold none of them.
fn contains_any<const N: usize>(bytes: &[u8], needles: [u8; N], below: u8) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Exact test for "some byte of `word` is below `n`" (n <= 128); n = 0 never matches.
    let has_below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        if has_below(word, below)
            || needles
                .iter()
                .any(|&needle| has_below(word ^ (ONES * u64::from(needle)), 1))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < below || needles.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn post(content: &str, tags: &[&str], user_id: UserId) -> Post {
        Post {
            id: "p-1".into(),
            user_id,
            date_created: "2019-07-21T22:30:00Z".parse().unwrap(),
            content: content.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    fn encode(options: &ExportOptions, posts: &[Post]) -> String {
        let mut encoder = RowEncoder::new(options);
        let mut out = Vec::new();
        encoder.write_preamble(&mut out);
        for post in posts {
            encoder.write_post(post, &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_has_a_header_crlf_rows_and_space_joined_tags() {
        let text = encode(
            &ExportOptions::default(),
            &[post("hello", &["#a", "#b"], UserId::Int(7))],
        );
        assert_eq!(
            text,
            "UserID,DateCreated,Content,Tags\r\n7,2019-07-21T22:30:00Z,hello,#a #b\r\n"
        );
    }

    #[test]
    fn csv_quotes_separators_quotes_and_line_breaks() {
        let text = encode(
            &ExportOptions {
                columns: vec![Column::Content],
                ..ExportOptions::default()
            },
            &[
                post("a,b", &[], UserId::Int(1)),
                post("say \"hi\"", &[], UserId::Int(1)),
                post("x\r\ny", &[], UserId::Int(1)),
                post("\"\"\"\"", &[], UserId::Int(1)),
            ],
        );
        assert_eq!(
            text,
            "Content\r\n\"a,b\"\r\n\"say \"\"hi\"\"\"\r\n\"x\r\ny\"\r\n\"\"\"\"\"\"\"\"\"\"\r\n"
        );
    }

    #[test]
    fn a_row_longer_than_the_room_lent_for_it_is_written_whole() {
        // Every quote is doubled, so this row outgrows the room estimated from its content.
        let quotes = "\"".repeat(500);
        assert_eq!(content_cell(&quotes), format!("\"{}\"", quotes.repeat(2)));
    }

    #[test]
    fn a_row_of_one_empty_cell_is_written_as_two_quotes_so_readers_keep_it() {
        let options = ExportOptions {
            columns: vec![Column::Content],
            ..ExportOptions::default()
        };
        let text = encode(
            &options,
            &[
                post("", &[], UserId::Int(1)),
                post("x", &[], UserId::Int(1)),
            ],
        );
        assert_eq!(text, "Content\r\n\"\"\r\nx\r\n");
        let rows = csv::Reader::from_reader(text.as_bytes()).records().count();
        assert_eq!(rows, 2);
    }

    /// The `Content` cell of one row exactly as written, without the header and the CRLF.
    fn content_cell(content: &str) -> String {
        let options = ExportOptions {
            columns: vec![Column::Content],
            ..ExportOptions::default()
        };
        let text = encode(&options, &[post(content, &[], UserId::Int(1))]);
        let row = text.strip_prefix("Content\r\n").unwrap();
        row.strip_suffix("\r\n").unwrap().to_owned()
    }

    #[test]
    fn csv_guards_a_cell_starting_with_an_owasp_formula_trigger() {
        for trigger in ["=", "+", "-", "@", "\t", "\r", "\n"] {
            let content = format!("{trigger}SUM(A1)");
            let text = encode(
                &ExportOptions {
                    columns: vec![Column::Content],
                    ..ExportOptions::default()
                },
                &[post(&content, &[], UserId::Int(1))],
            );
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let row = reader.records().next().unwrap().unwrap();
            assert_eq!(&row[0], format!("'{content}"), "trigger {trigger:?}");
        }
    }

    #[test]
    fn csv_guards_a_leading_nul_which_libreoffice_skips_before_a_formula() {
        assert_eq!(content_cell("\0=1+2"), "'\0=1+2");
    }

    #[test]
    fn csv_guards_the_full_width_signs_some_spreadsheets_read_as_ascii() {
        for sign in ["\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}"] {
            assert_eq!(content_cell(&format!("{sign}1+2")), format!("'{sign}1+2"));
        }
    }

    #[test]
    fn csv_guards_a_formula_after_a_semicolon_where_semicolon_locales_start_a_cell() {
        assert_eq!(content_cell("x;=3+4"), "x;'=3+4");
        assert_eq!(content_cell(";@SUM(1)"), ";'@SUM(1)");
        assert_eq!(content_cell("x;\0=1"), "x;'\0=1");
        assert_eq!(content_cell("x;\u{FF1D}1"), "x;'\u{FF1D}1");
    }

    #[test]
    fn csv_guards_a_formula_after_a_tab() {
        assert_eq!(content_cell("x\t-1+2"), "x\t'-1+2");
        // The guard for the leading tab is cut off from the formula by that tab.
        assert_eq!(content_cell("\t=1"), "'\t'=1");
    }

    #[test]
    fn csv_guards_a_formula_after_a_line_break_which_ends_a_row_for_other_separators() {
        assert_eq!(content_cell("x\n+1"), "\"x\n'+1\"");
        assert_eq!(content_cell("x\r@a"), "\"x\r'@a\"");
    }

    #[test]
    fn csv_guards_once_after_a_run_of_breaks() {
        assert_eq!(content_cell("x\r\n=1"), "\"x\r\n'=1\"");
        assert_eq!(content_cell("x;;\t=1"), "x;;\t'=1");
    }

    #[test]
    fn csv_leaves_breaks_alone_when_no_formula_trigger_follows() {
        for content in ["a;b", "x; =1", "x;\"=1\"", "x;'=1", "line\nnext", "x;"] {
            let cell = content_cell(content);
            assert!(
                !cell.contains("'") || content.contains("'"),
                "{content:?} became {cell:?}"
            );
            assert!(!needs_formula_guard(content), "{content:?}");
        }
    }

    #[test]
    fn csv_writes_user_ids_as_given() {
        let text = encode(
            &ExportOptions {
                columns: vec![Column::UserID],
                ..ExportOptions::default()
            },
            &[
                post("", &[], UserId::Int(-3)),
                post("", &[], UserId::Text("a-b".into())),
                post("", &[], UserId::Text("=cmd".into())),
            ],
        );
        assert_eq!(text, "UserID\r\n-3\r\na-b\r\n'=cmd\r\n");
    }

    #[test]
    fn an_empty_csv_export_is_the_header_alone() {
        assert_eq!(
            encode(&ExportOptions::default(), &[]),
            "UserID,DateCreated,Content,Tags\r\n"
        );
    }

    #[test]
    fn excel_compatible_csv_starts_with_a_bom() {
        let options = ExportOptions {
            excel_compatible: true,
            ..ExportOptions::default()
        };
        assert!(
            encode(&options, &[])
                .as_bytes()
                .starts_with(b"\xEF\xBB\xBFUserID,")
        );
    }

    #[test]
    fn dates_render_in_the_chosen_time_zone() {
        let options = ExportOptions {
            columns: vec![Column::DateCreated],
            time_zone: chrono_tz::Asia::Kolkata,
            ..ExportOptions::default()
        };
        assert_eq!(
            encode(&options, &[post("", &[], UserId::Int(1))]),
            "DateCreated\r\n2019-07-22T04:00:00+05:30\r\n"
        );
    }

    #[test]
    fn ndjson_writes_one_object_per_line_with_chosen_columns_in_order() {
        let options = ExportOptions {
            format: ExportFormat::Ndjson,
            columns: vec![Column::Tags, Column::Uuid, Column::UserID, Column::Content],
            ..ExportOptions::default()
        };
        let text = encode(
            &options,
            &[
                post("=1+1 \"q\"\nnext", &["#a"], UserId::Text("s".into())),
                post("b", &[], UserId::Int(2)),
            ],
        );
        assert_eq!(
            text,
            "{\"Tags\":[\"#a\"],\"uuid\":\"p-1\",\"UserID\":\"s\",\"Content\":\"=1+1 \\\"q\\\"\\nnext\"}\n\
             {\"Tags\":[],\"uuid\":\"p-1\",\"UserID\":2,\"Content\":\"b\"}\n"
        );
    }

    #[test]
    fn an_empty_ndjson_export_is_an_empty_file() {
        let options = ExportOptions {
            format: ExportFormat::Ndjson,
            ..ExportOptions::default()
        };
        assert_eq!(encode(&options, &[]), "");
    }

    #[test]
    fn leap_seconds_and_far_years_render_as_chrono_renders_them() {
        for text in [
            "2016-12-31T23:59:60.5Z",
            "+10000-01-01T00:00:00Z",
            "-0001-12-31T23:59:59Z",
        ] {
            let at: DateTime<Utc> = text.parse().unwrap();
            let mut out = Vec::new();
            render_date(at, Tz::UTC, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            );
        }
    }

    /// Seconds from 1970 spanning the years -100 to 10100, so the fallback is exercised too.
    const SECONDS_SPAN: std::ops::Range<i64> = -65_000_000_000..257_000_000_000;

    fn any_subsecond() -> impl Strategy<Value = u32> {
        prop_oneof![
            Just(0u32),
            (0..1_000u32).prop_map(|ms| ms * 1_000_000),
            (0..1_000_000u32).prop_map(|us| us * 1_000),
            0..1_000_000_000u32,
        ]
    }

    /// Any text, or text made mostly of formula triggers, cell breaks and quotes.
    fn any_cell() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[=+@;\t\r\n\0\",' x1\u{FF1D}\u{FF0B}\u{FF0D}\u{FF20}-]{0,12}",
        ]
    }

    /// The formula guard, written again character by character as a reference: a `'` before
    /// a trigger that starts the cell, or that ends a run of `;`, tab, CR and LF.
    fn guarded_by_hand(cell: &str) -> String {
        let triggers = "=+-@\t\r\n\0\u{FF1D}\u{FF0B}\u{FF0D}\u{FF20}";
        let mut guarded = String::new();
        let mut first = true;
        let mut after_break = false;
        for c in cell.chars() {
            let is_break = matches!(c, ';' | '\t' | '\r' | '\n');
            if triggers.contains(c) && (first || (after_break && !is_break)) {
                guarded.push('\'');
            }
            guarded.push(c);
            first = false;
            after_break = is_break;
        }
        guarded
    }

    proptest! {
        #[test]
        fn dates_render_as_chrono_renders_them_in_every_time_zone(
            seconds in SECONDS_SPAN,
            nanos in any_subsecond(),
            zone in 0..chrono_tz::TZ_VARIANTS.len(),
        ) {
            let at = DateTime::from_timestamp(seconds, nanos).unwrap();
            let time_zone = chrono_tz::TZ_VARIANTS[zone];
            let mut out = Vec::new();
            render_date(at, time_zone, &mut out);
            prop_assert_eq!(
                String::from_utf8(out).unwrap(),
                at.with_timezone(&time_zone).to_rfc3339_opts(SecondsFormat::AutoSi, true)
            );
        }

        #[test]
        fn the_word_at_a_time_scan_agrees_with_a_byte_at_a_time_one(
            bytes in proptest::collection::vec(any::<u8>(), 0..40),
            needles in any::<[u8; 4]>(),
            below in 0..=128u8,
        ) {
            let expected = bytes.iter().any(|&b| b < below || needles.contains(&b));
            prop_assert_eq!(contains_any(&bytes, needles, below), expected);
        }

        #[test]
        fn json_strings_are_written_as_serde_json_writes_them(text in any::<String>()) {
            let mut out = Vec::new();
            write_json_str(&text, &mut out);
            prop_assert_eq!(out, serde_json::to_vec(&text).unwrap());
        }

        #[test]
        fn integer_user_ids_render_as_display_does(n in any::<i64>()) {
            let mut out = Vec::new();
            write_int(n, &mut out);
            prop_assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }

        #[test]
        fn csv_round_trips_any_unicode_apart_from_the_formula_guards(
            content in any_cell(),
            tags in proptest::collection::vec("[^ ]*|[=+@;\t\r\n\0\"'x\u{FF1D}-]*", 0..4),
            user in any_cell(),
        ) {
            let options = ExportOptions {
                columns: vec![Column::UserID, Column::Content, Column::Tags],
                ..ExportOptions::default()
            };
            let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
            let text = encode(&options, &[post(&content, &tag_refs, UserId::Text(user.clone()))]);
            let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
            let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(rows.len(), 1);
            prop_assert_eq!(&rows[0][0], guarded_by_hand(&user));
            prop_assert_eq!(&rows[0][1], guarded_by_hand(&content));
            prop_assert_eq!(&rows[0][2], guarded_by_hand(&tags.join(" ")));
        }

        #[test]
        fn a_cell_needs_a_guard_exactly_when_guarding_changes_it(cell in any_cell()) {
            prop_assert_eq!(needs_formula_guard(&cell), guarded_by_hand(&cell) != cell);
        }

        #[test]
        fn ndjson_round_trips_any_unicode(content in any::<String>(), user in any::<String>()) {
            let options = ExportOptions { format: ExportFormat::Ndjson, ..ExportOptions::default() };
            let original = post(&content, &["#t"], UserId::Text(user));
            let text = encode(&options, std::slice::from_ref(&original));
            prop_assert_eq!(text.matches('\n').count(), 1);
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&parsed["Content"], &serde_json::Value::String(original.content.clone()));
            prop_assert_eq!(serde_json::from_value::<UserId>(parsed["UserID"].clone()).unwrap(), original.user_id);
        }
    }
}
