//! Row encoders: CSV per RFC 4180 with spreadsheet-formula neutralisation, and NDJSON.
//!
//! Encoders append to a caller-owned buffer so the pipeline reuses one allocation per batch.

use crate::options::{Column, ExportFormat, ExportOptions};
use crate::post::{Post, UserId};
use chrono::SecondsFormat;
use chrono_tz::Tz;
use std::fmt::Write as _;

/// UTF-8 byte order mark, written first when `excelCompatible` is set.
pub const UTF8_BOM: &[u8] = "\u{feff}".as_bytes();

/// Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
const FORMULA_TRIGGERS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\n'];

/// The prefix that makes a spreadsheet read a formula-looking cell as text.
pub const FORMULA_GUARD: char = '\'';

/// Whether a CSV text cell with this content gets the [`FORMULA_GUARD`] prefix.
pub fn needs_formula_guard(cell: &str) -> bool {
    cell.starts_with(FORMULA_TRIGGERS)
}

/// Encodes posts as rows of one export file.
#[derive(Debug)]
pub struct RowEncoder {
    format: ExportFormat,
    columns: Vec<Column>,
    time_zone: Tz,
    excel_compatible: bool,
    scratch: String,
}

impl RowEncoder {
    pub fn new(options: &ExportOptions) -> Self {
        RowEncoder {
            format: options.format,
            columns: options.columns.clone(),
            time_zone: options.time_zone,
            excel_compatible: options.excel_compatible,
            scratch: String::with_capacity(256),
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
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(column.name().as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Appends one row for `post`.
    pub fn write_post(&mut self, post: &Post, out: &mut Vec<u8>) {
        match self.format {
            ExportFormat::Csv => self.write_csv_row(post, out),
            ExportFormat::Ndjson => self.write_ndjson_row(post, out),
        }
    }

    fn write_csv_row(&mut self, post: &Post, out: &mut Vec<u8>) {
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match column {
                Column::Uuid => write_csv_text(&post.id, out),
                Column::UserID => match &post.user_id {
                    UserId::Int(n) => {
                        self.scratch.clear();
                        let _ = write!(self.scratch, "{n}");
                        out.extend_from_slice(self.scratch.as_bytes());
                    }
                    UserId::Text(text) => write_csv_text(text, out),
                },
                Column::DateCreated => {
                    render_date(post, self.time_zone, &mut self.scratch);
                    out.extend_from_slice(self.scratch.as_bytes());
                }
                Column::Content => write_csv_text(&post.content, out),
                Column::Tags => {
                    join_tags(post, &mut self.scratch);
                    write_csv_text(&self.scratch, out);
                }
            }
        }
        out.extend_from_slice(b"\r\n");
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
                    UserId::Int(n) => {
                        self.scratch.clear();
                        let _ = write!(self.scratch, "{n}");
                        out.extend_from_slice(self.scratch.as_bytes());
                    }
                    UserId::Text(text) => write_json_str(text, out),
                },
                Column::DateCreated => {
                    render_date(post, self.time_zone, &mut self.scratch);
                    write_json_str(&self.scratch, out);
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

fn render_date(post: &Post, time_zone: Tz, out: &mut String) {
    out.clear();
    let local = post.date_created.with_timezone(&time_zone);
    let _ = write!(
        out,
        "{}",
        local.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    );
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

/// Writes a CSV text cell: formula-guarded, and quoted (inner quotes doubled) when it holds a
/// comma, a quote, CR or LF.
fn write_csv_text(cell: &str, out: &mut Vec<u8>) {
    let guard = needs_formula_guard(cell);
    let quote = cell
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if quote {
        out.push(b'"');
    }
    if guard {
        out.push(FORMULA_GUARD as u8);
    }
    if quote {
        let mut rest = cell.as_bytes();
        while let Some(at) = rest.iter().position(|&b| b == b'"') {
            out.extend_from_slice(&rest[..=at]);
            out.push(b'"');
            rest = &rest[at + 1..];
        }
        out.extend_from_slice(rest);
        out.push(b'"');
    } else {
        out.extend_from_slice(cell.as_bytes());
    }
}

/// Writes `text` as a JSON string literal.
fn write_json_str(text: &str, out: &mut Vec<u8>) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
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
            ],
        );
        assert_eq!(
            text,
            "Content\r\n\"a,b\"\r\n\"say \"\"hi\"\"\"\r\n\"x\r\ny\"\r\n"
        );
    }

    #[test]
    fn csv_neutralises_every_owasp_formula_trigger() {
        for trigger in FORMULA_TRIGGERS {
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

    proptest! {
        #[test]
        fn csv_round_trips_any_unicode_apart_from_the_formula_guard(
            content in any::<String>(),
            tags in proptest::collection::vec("[^ ]*", 0..4),
            user in any::<String>(),
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
            let guarded = |cell: &str| if needs_formula_guard(cell) { format!("'{cell}") } else { cell.to_owned() };
            prop_assert_eq!(&rows[0][0], guarded(&user));
            prop_assert_eq!(&rows[0][1], guarded(&content));
            prop_assert_eq!(&rows[0][2], guarded(&tags.join(" ")));
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
