//! Sample data for sde: a deterministic generator of realistic posts, Elasticsearch `_bulk`
//! NDJSON files (write and read back), loading into Elasticsearch/OpenSearch (through
//! `sde-elasticsearch` and the official client), and a progress bar.
//! The `sde` CLI loads the embedded index itself from these pieces.

pub mod bulk;
pub mod elasticsearch;
pub mod generate;
pub mod progress;
mod vocab;

pub use bulk::{BulkError, read_bulk, write_bulk};
pub use elasticsearch::{LoadError, LoadOptions, RetryPolicy};
pub use generate::{GeneratorConfig, PostGenerator};
