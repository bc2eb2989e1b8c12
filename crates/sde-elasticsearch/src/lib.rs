//! The posts index on Elasticsearch or Amazon OpenSearch Service: [`EsIndex`] implements
//! [`SearchIndex`](sde_core::SearchIndex) with the design page's semantics, through the official
//! [`elasticsearch`] client.
//!
//! # Queries
//!
//! Every term of the criteria is a `multi_match` over `Content` and `Tags^3` (`best_fields`,
//! operator `or`) under `bool.must`; the date range is a `bool.filter` on `DateCreated`
//! (`gte`/`lt`, RFC 3339); no terms and no range is `match_all`. User text is only ever the
//! `query` of a `multi_match`, never `query_string`. The bodies are built by the pure functions of
//! [`query`], tested against the expected JSON.
//!
//! A page is `from`/`size` with `track_total_hits: true`, ranked by score; every page of one
//! search carries the same `preference`, so ties and scores do not shift between pages. Pages
//! reaching past [`MAX_RESULT_WINDOW`] are refused as
//! [`Rejected`](sde_core::IndexErrorKind::Rejected) ("the page is too deep"), unless they lie
//! past the end of the results, which gives an empty page. Failed shards in a page search become
//! [`SearchPage::warning`](sde_core::SearchPage::warning); `timed_out: true` is a
//! [`Timeout`](sde_core::IndexErrorKind::Timeout) error.
//!
//! # Counts
//!
//! [`EsIndex`] also implements [`PostStats`](sde_core::PostStats) with aggregation-only searches
//! (`size: 0`): `min`/`max` of `DateCreated`, a `date_histogram` (`fixed_interval` for hours,
//! `calendar_interval` for days, weeks and months, in UTC) and a `terms` aggregation on the
//! `Tags.keyword` sub-field of the [mapping](index_mapping). Whatever the index size, each is one
//! request that reads no document. A count from an answer with failed shards or a timeout would
//! be silently short, so both are errors here, not warnings.
//!
//! # Scans
//!
//! A scan is a scroll sorted by `_doc` with the exact total, in batches of the requested size
//! (capped by [`EsConfig::max_batch_size`]); see [`scan`] for failure handling
//! and clearing. The scroll API is the same on Elasticsearch 7.10+, 8.x and OpenSearch 2.x; one
//! scroll per export, read start to end by one Lambda, is the use scroll is made for; its
//! keep-alive is [`EsConfig::scroll_keep_alive`] (2 minutes) between batches.
//!
//! An export too large for one run is read in slices of one point in time instead
//! ([`open_snapshot`](sde_core::SearchIndex::open_snapshot) and
//! [`scan_slice`](sde_core::SearchIndex::scan_slice), see [`pit`]): a PIT with `slice` and
//! `search_after`, on OpenSearch 2.4+ or Elasticsearch 7.12+, whose APIs differ, so
//! [`EsConfig::engine`] names the engine. A cluster that has no point-in-time API keeps the
//! single scroll.
//!
//! # New posts
//!
//! [`EsIndex`] also implements [`PostStore`](sde_core::PostStore): one
//! `PUT /<index>/_doc/<id>?refresh=wait_for` per post, answered once a refresh has made the post
//! searchable (`src/posting.rs` says why `wait_for` rather than `true`).
//!
//! # Engines
//!
//! Targeted: **OpenSearch 2.x**, what Amazon OpenSearch Service provisions today (the deploy
//! issue's domain), and **Elasticsearch 7.10+ and 8.x** for self-hosted or Elastic Cloud
//! clusters. All three return `hits.total` as `{value, relation}`; the parser also reads the bare
//! number of Elasticsearch 6, but 6 is not supported otherwise. Responses of each engine, written
//! by hand in the shapes the engines' API specifications document (no cluster was reachable to
//! record them; `tests/fixtures/README.md` names the source of each), are under
//! `tests/fixtures/`; `tests/live_cluster.rs` runs against a real cluster when
//! `SDE_TEST_ES_URL` names one. The client crate is 9.x: it sends plain `application/json` and
//! performs no `X-Elastic-Product` check, so it talks to OpenSearch too.
//!
//! # Authentication
//!
//! HTTP basic auth over HTTPS with an OpenSearch **fine-grained access control internal user**
//! (e.g. `sde-reader`), mapped to a role with the index permission `read` on the posts index
//! and the cluster permissions `indices:data/read/scroll` and `indices:data/read/scroll/clear`
//! (the security plugin checks scrolls at cluster level). `read` (`indices:data/read*`) already
//! covers the point-in-time actions of sliced exports (`indices:data/read/point_in_time/create`
//! and `/delete`, and searches of the PIT), which OpenSearch checks on the index. The user's password lives in
//! an SSM Parameter Store SecureString (KMS-encrypted); each Lambda that searches reads it once
//! at cold start (`ssm:GetParameter` with decryption on that one parameter is all its IAM role
//! gets) and hands it to [`EsConfig`] as a [`Secret`], which never prints. Credentials are
//! refused inside the URL, and over plain `http` except to the local machine. The domain's
//! access policy then need not be IP-open: FGAC checks every request's credentials, the domain
//! enforces HTTPS and node-to-node encryption, and the network path (VPC access with a security
//! group that admits only the functions) is the deploy issue's part. Locally, `SDE_ES_USERNAME`
//! and `SDE_ES_PASSWORD` play the same role ([`EsConfig::from_env`]). The posts function writes
//! as another internal user (e.g. `sde-writer`) whose role may only index documents into the
//! posts index (`indices:data/write/index` and `indices:data/write/bulk*`), with its own
//! password parameter; the readers cannot write and the writer cannot read.

pub mod config;
pub mod error;
mod index;
pub mod index_name;
pub mod mapping;
pub mod percolator;
pub mod pit;
mod posting;
pub mod query;
pub mod response;
pub mod scan;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transport;

pub use config::{ConfigError, Engine, EsConfig, Secret};
pub use error::EsError;
pub use index::EsIndex;
pub use index_name::{IndexNameError, check_index_name};
pub use mapping::index_mapping;
pub use percolator::{PercolatorMatcher, subscriptions_index_body};
pub use pit::EsSliceScan;
pub use query::MAX_RESULT_WINDOW;
pub use scan::EsScan;
pub use transport::{ClientTransport, EsMethod, EsRequest, EsResponse, EsTransport};
