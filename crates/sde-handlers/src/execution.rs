//! The shapes that travel through the state machine: the execution input `download-request`
//! builds, and the report `generate-csv` returns.

use chrono::{DateTime, Utc};
use sde_core::{ExportOptionsRequest, Owner, SearchRequest};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How the finished file reaches its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryType {
    /// The browser polls `report-status` until the URL appears.
    Direct,
    /// A signed link is emailed to the owner.
    Email,
    /// The URL is pushed over the owner's WebSocket.
    Push,
}

impl FromStr for DeliveryType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "direct" => Ok(DeliveryType::Direct),
            "email" => Ok(DeliveryType::Email),
            "push" => Ok(DeliveryType::Push),
            _ => Err(format!(
                "unknown type {s:?}: use \"direct\", \"email\" or \"push\""
            )),
        }
    }
}

impl fmt::Display for DeliveryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeliveryType::Direct => "direct",
            DeliveryType::Email => "email",
            DeliveryType::Push => "push",
        })
    }
}

/// The input of one execution of the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionInput {
    #[serde(rename = "type")]
    pub delivery: DeliveryType,
    pub search_criteria: SearchRequest,
    #[serde(default)]
    pub options: ExportOptionsRequest,
    pub owner: Owner,
    /// The execution's name; also names the export file.
    pub export_id: String,
}

/// What `generate-csv` returns and `report-status` reads back: where the file is and until when
/// its URL works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportOutput {
    pub key: String,
    #[serde(rename = "reportURL")]
    pub report_url: String,
    pub rows: u64,
    pub bytes: u64,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn execution_input_has_the_shape_the_state_machine_reads() {
        let input = ExecutionInput {
            delivery: DeliveryType::Push,
            search_criteria: SearchRequest::default(),
            options: ExportOptionsRequest::default(),
            owner: Owner {
                sub: "s".into(),
                email: "e@x.org".into(),
            },
            export_id: "id-1".into(),
        };
        let value = serde_json::to_value(&input).unwrap();
        assert_eq!(value["type"], json!("push"));
        assert_eq!(value["owner"], json!({"sub": "s", "email": "e@x.org"}));
        assert_eq!(value["exportId"], json!("id-1"));
        assert_eq!(
            serde_json::from_value::<ExecutionInput>(value).unwrap(),
            input
        );
    }
}
