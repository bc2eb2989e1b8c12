//! The embedded search index on tantivy.
