//! The explicit mapping of the posts index, used by whoever creates it (the importer, the live
//! test).
//!
//! `UserID` is a `keyword`: old posts carry integers and new ones Cognito `sub` strings, and a
//! `long` mapping (what dynamic mapping picks from the first old post) would reject every `sub`.
//! A keyword field accepts both (numbers are indexed as their decimal text) while `_source`
//! keeps each value's JSON type, so exports still round-trip `7` as a number and a `sub` as a
//! string; user ids are only ever matched exactly, never ranged, so nothing is lost.

/// The body of the create-index request for the posts index: its `mappings`.
pub fn index_mapping() -> serde_json::Value {
    serde_json::json!({
        "mappings": {
            "properties": {
                "UserID": {"type": "keyword"},
                "DateCreated": {"type": "date"},
                "Content": {"type": "text"},
                "Tags": {"type": "text"}
            }
        }
    })
}
