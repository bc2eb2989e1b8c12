//! The embedded search index on tantivy: the local stack's stand-in for Elasticsearch, with the
//! same search semantics (see the design page and [`sde_core::SearchIndex`]).
//!
//! [`TantivyIndex`] opens or creates an index, hands out a single [`PostWriter`] at a time, and
//! implements [`SearchIndex`](sde_core::SearchIndex) (ranked pages and snapshot scans),
//! [`PostStats`](sde_core::PostStats) (counts from aggregations) and
//! [`PostStore`](sde_core::PostStore) (new posts, searchable once stored). [`LocalMatcher`] is
//! the local [`SubscriptionMatcher`](sde_core::SubscriptionMatcher): real-time subscriptions
//! matched against a new post through the same analyser.

mod directory;
mod error;
mod index;
mod matcher;
mod posting;
mod query;
mod scan;
mod schema;
mod stats;

pub use index::{PostWriter, TantivyIndex};
pub use matcher::LocalMatcher;
pub use schema::ANALYZER_NAME;
