//! Export options: what the file looks like. All optional on the wire; the defaults give the
//! CSV the original product produced.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// File format of an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Csv,
    Ndjson,
}

impl ExportFormat {
    /// File name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }

    /// MIME type of the uncompressed file.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Ndjson => "application/x-ndjson",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = OptionsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "ndjson" | "jsonl" => Ok(ExportFormat::Ndjson),
            _ => Err(OptionsError::UnknownFormat(s.to_owned())),
        }
    }
}

/// A column of an export, named as in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Column {
    /// The document id; not exported unless asked for.
    #[serde(rename = "uuid")]
    Uuid,
    UserID,
    DateCreated,
    Content,
    Tags,
}

impl Column {
    /// The columns of an export that does not choose.
    pub const DEFAULT: [Column; 4] = [
        Column::UserID,
        Column::DateCreated,
        Column::Content,
        Column::Tags,
    ];

    /// Header and JSON key of the column.
    pub fn name(self) -> &'static str {
        match self {
            Column::Uuid => "uuid",
            Column::UserID => "UserID",
            Column::DateCreated => "DateCreated",
            Column::Content => "Content",
            Column::Tags => "Tags",
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Column {
    type Err = OptionsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Column::Uuid,
            Column::UserID,
            Column::DateCreated,
            Column::Content,
            Column::Tags,
        ]
        .into_iter()
        .find(|column| column.name().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| OptionsError::UnknownColumn(s.to_owned()))
    }
}

/// Export options as they arrive beside `searchCriteria`; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportOptionsRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excel_compatible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress: Option<bool>,
}

/// Validated export options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    pub format: ExportFormat,
    /// Non-empty, no repeats, in output order.
    pub columns: Vec<Column>,
    /// `DateCreated` is rendered as RFC 3339 in this zone.
    pub time_zone: Tz,
    /// Starts a CSV with a UTF-8 byte order mark so Excel reads it as UTF-8.
    pub excel_compatible: bool,
    /// Gzip the file (`.csv.gz`, `.ndjson.gz`).
    pub compress: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            format: ExportFormat::Csv,
            columns: Column::DEFAULT.to_vec(),
            time_zone: Tz::UTC,
            excel_compatible: false,
            compress: false,
        }
    }
}

impl ExportOptions {
    /// File name extension including the compression suffix, without the leading dot.
    pub fn extension(&self) -> String {
        let base = self.format.extension();
        if self.compress {
            format!("{base}.gz")
        } else {
            base.to_owned()
        }
    }

    /// MIME type of the stored object.
    pub fn content_type(&self) -> &'static str {
        if self.compress {
            "application/gzip"
        } else {
            self.format.content_type()
        }
    }
}

/// Why export options were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("unknown format {0:?}: use \"csv\" or \"ndjson\"")]
    UnknownFormat(String),
    #[error("unknown column {0:?}: use uuid, UserID, DateCreated, Content or Tags")]
    UnknownColumn(String),
    #[error("column {0} is listed twice")]
    RepeatedColumn(Column),
    #[error("columns must name at least one column")]
    NoColumns,
    #[error("unknown time zone {0:?}: use an IANA name such as \"Europe/Paris\"")]
    UnknownTimeZone(String),
    #[error("excelCompatible applies to csv exports only")]
    BomWithoutCsv,
}

impl TryFrom<&ExportOptionsRequest> for ExportOptions {
    type Error = OptionsError;

    fn try_from(request: &ExportOptionsRequest) -> Result<Self, Self::Error> {
        let format = match &request.format {
            Some(format) => format.parse()?,
            None => ExportFormat::default(),
        };
        let columns = match &request.columns {
            Some(names) => parse_columns(names.iter().map(String::as_str))?,
            None => Column::DEFAULT.to_vec(),
        };
        let time_zone = match &request.time_zone {
            Some(name) => name
                .trim()
                .parse::<Tz>()
                .map_err(|_| OptionsError::UnknownTimeZone(name.clone()))?,
            None => Tz::UTC,
        };
        let excel_compatible = request.excel_compatible.unwrap_or(false);
        if excel_compatible && format != ExportFormat::Csv {
            return Err(OptionsError::BomWithoutCsv);
        }
        Ok(ExportOptions {
            format,
            columns,
            time_zone,
            excel_compatible,
            compress: request.compress.unwrap_or(false),
        })
    }
}

/// Parses column names, keeping their order and refusing repeats.
pub fn parse_columns<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Column>, OptionsError> {
    let mut columns = Vec::new();
    for name in names {
        let column: Column = name.parse()?;
        if columns.contains(&column) {
            return Err(OptionsError::RepeatedColumn(column));
        }
        columns.push(column);
    }
    if columns.is_empty() {
        return Err(OptionsError::NoColumns);
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn options(body: serde_json::Value) -> Result<ExportOptions, OptionsError> {
        let request: ExportOptionsRequest = serde_json::from_value(body).unwrap();
        ExportOptions::try_from(&request)
    }

    #[test]
    fn no_options_means_the_original_csv() {
        assert_eq!(options(json!({})).unwrap(), ExportOptions::default());
        assert_eq!(ExportOptions::default().extension(), "csv");
    }

    #[test]
    fn every_option_is_read() {
        let parsed = options(json!({"format": "ndjson", "columns": ["Content", "uuid"],
            "timeZone": "Europe/Paris", "compress": true}))
        .unwrap();
        assert_eq!(parsed.format, ExportFormat::Ndjson);
        assert_eq!(parsed.columns, [Column::Content, Column::Uuid]);
        assert_eq!(parsed.time_zone, chrono_tz::Europe::Paris);
        assert_eq!(parsed.extension(), "ndjson.gz");
        assert_eq!(parsed.content_type(), "application/gzip");
    }

    #[test]
    fn bad_options_say_what_is_wrong() {
        let cases = [
            (json!({"format": "xlsx"}), "unknown format \"xlsx\""),
            (
                json!({"columns": ["Content", "Likes"]}),
                "unknown column \"Likes\"",
            ),
            (
                json!({"columns": ["Content", "content"]}),
                "column Content is listed twice",
            ),
            (json!({"columns": []}), "at least one column"),
            (
                json!({"timeZone": "Mars/Olympus"}),
                "unknown time zone \"Mars/Olympus\"",
            ),
            (
                json!({"format": "ndjson", "excelCompatible": true}),
                "csv exports only",
            ),
        ];
        for (body, expected) in cases {
            let error = options(body.clone()).unwrap_err().to_string();
            assert!(error.contains(expected), "{body} gave {error:?}");
        }
    }
}
