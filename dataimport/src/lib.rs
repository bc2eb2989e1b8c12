//! Sample data for sde: a deterministic generator of realistic posts, Elasticsearch `_bulk`
//! NDJSON files (write and read back), loading into Elasticsearch/OpenSearch, and a progress bar.
//! The `sde` CLI loads the embedded index itself from these pieces.

pub mod generate;
mod vocab;

pub use generate::{GeneratorConfig, PostGenerator};
