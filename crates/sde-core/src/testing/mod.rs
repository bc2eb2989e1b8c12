//! Contract suites: the behaviour every implementation of a core trait must show, run by each
//! implementation's own tests — the local one in unit tests, the AWS one against moto, the
//! Elasticsearch one against a fake cluster serving hand-written responses. One file per trait,
//! so a suite for another trait goes in a file of its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod object_store;
pub mod post_stats;
pub mod search_index;

pub use object_store::object_store_contract;
