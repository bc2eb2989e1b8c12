//! The explicit mapping of the posts index, used by whoever creates it (the importer, the live
//! test).
//!
//! `UserID` is a `keyword`: old posts carry integers and new ones Cognito `sub` strings, and a
//! `long` mapping (what dynamic mapping picks from the first old post) would reject every `sub`.
//! A keyword field accepts both (numbers are indexed as their decimal text) while `_source`
//! keeps each value's JSON type, so exports still round-trip `7` as a number and a `sub` as a
//! string; user ids are only ever matched exactly, never ranged, so nothing is lost.
//!
//! `Tags` is full text for search, with a `keyword` sub-field, `Tags.keyword`, holding each tag
//! whole for the trending-tags report's `terms` aggregation (`ignore_above: 256`, the
//! longest tag counted, as [`sde_core::MAX_COUNTED_TAG_CHARS`] says). An index created before the
//! sub-field existed gets it without reindexing elsewhere: `PUT posts/_mapping` with the `Tags`
//! property below (adding a sub-field to an existing field is allowed), then
//! `POST posts/_update_by_query?conflicts=proceed` so the posts already there are indexed into it
//! (the README shows both requests).

/// The body of the create-index request for the posts index: its `mappings`.
pub fn index_mapping() -> serde_json::Value {
    serde_json::json!({
        "mappings": {
            "properties": {
                "UserID": {"type": "keyword"},
                "DateCreated": {"type": "date"},
                "Content": {"type": "text"},
                "Tags": {
                    "type": "text",
                    "fields": {
                        "keyword": {"type": "keyword", "ignore_above": sde_core::MAX_COUNTED_TAG_CHARS}
                    }
                }
            }
        }
    })
}
