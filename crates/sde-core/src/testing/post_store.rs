//! The `PostStore` contract, split like the `SearchIndex` one (see
//! [`search_index`](super::search_index)) and for the same reason: a fake that serves fixed
//! answers cannot make a post searchable.
//!
//! | part | what it checks | runs against |
//! |---|---|---|
//! | [`semantics`] | a stored post is at once in `/search` (by its words and its tags, and in the total), in a scan (what exports read) and in the counts (what reports read), exactly as stored; storing the same id again replaces the post; posts stored at the same time are all stored | `TantivyIndex` (sde-tantivy's tests); `EsIndex` against a real cluster when `SDE_TEST_ES_URL` names one |
//! | [`served`] | storing [`new_post`] succeeds, and storing it again (a retry) too | `TantivyIndex`; `EsIndex` against the fake cluster, which answers only the one request a cluster must be sent for [`new_post`] (index, id, body, refresh) with each engine's hand-written answer |
//! | [`faults`] | failures mapped to [`IndexErrorKind`](crate::IndexErrorKind): overload and outages are transient `Unavailable`, slowness `Timeout`, an unreadable answer `Corrupt`, a post the backend refuses `Rejected` | `EsIndex` against the fake cluster |
//!
//! Each check is an `async fn` taking one argument that builds the store under test; the
//! [`post_store_tests!`](crate::post_store_tests) macro turns a list of checks into
//! `#[tokio::test]`s.

use crate::{Post, PostStats, PostStore, SearchIndex, UserId};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A backend seen through the store and the two readers, so a check can see what a stored post
/// changed.
#[derive(Debug, Clone)]
pub struct StoreUnderTest {
    pub store: Arc<dyn PostStore>,
    pub search: Arc<dyn SearchIndex>,
    pub stats: Arc<dyn PostStats>,
}

/// The post [`served`] and [`faults`] store, as the Elasticsearch fixtures expect it: a Cognito
/// author, a date with milliseconds, quotes, a comma, a newline and Unicode in the text,
/// normalised tags.
pub fn new_post() -> Post {
    Post {
        id: "c0ffee00-0005-4a5b-9c1d-000000000005".into(),
        user_id: UserId::Text("3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b".into()),
        date_created: "2026-03-01T09:30:00.250Z".parse::<DateTime<Utc>>().unwrap(),
        content: "A zeppelin over the harbour,\n\"so quiet\" — ünïcödé 🎈".into(),
        tags: vec!["#zeppelin".into(), "#harbour".into()],
    }
}

/// Runs the named checks of one part as `#[tokio::test]`s, each building its store with `$arg`:
///
/// ```text
/// sde_core::post_store_tests!(semantics, load; a_stored_post_is_found_at_once);
/// ```
#[macro_export]
macro_rules! post_store_tests {
    ($part:ident, $arg:expr; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::testing::post_store::$part::$check($arg).await;
            }
        )+
    };
}

/// What a stored post changes, through the store and the readers only. Each check takes a
/// loader that builds a backend holding exactly the given posts.
pub mod semantics {
    use super::StoreUnderTest;
    use crate::testing::search_index::served_posts;
    use crate::{PageRequest, Post, PostQuery, UserId};
    use chrono::{DateTime, Duration, Utc};
    use std::future::Future;
    use std::num::NonZeroUsize;
    use std::sync::Arc;

    const ALL: PageRequest = PageRequest {
        number: 0,
        size: 1_000,
    };

    fn terms(terms: &[&str]) -> PostQuery {
        PostQuery {
            terms: terms.iter().map(|term| (*term).to_owned()).collect(),
            ..PostQuery::default()
        }
    }

    fn fresh(id: &str, content: &str, tags: &[&str]) -> Post {
        Post {
            id: id.to_owned(),
            user_id: UserId::Text("9b7c5e3a-1f2d-4c6b-8a0e-7d9f1b3c5e7a".into()),
            date_created: "2026-03-01T09:30:00.250Z".parse::<DateTime<Utc>>().unwrap(),
            content: content.to_owned(),
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        }
    }

    async fn found(backend: &StoreUnderTest, query: &PostQuery) -> Vec<Post> {
        let page = backend.search.search(query, ALL).await.unwrap();
        assert_eq!(page.total, page.posts.len() as u64, "total of {query:?}");
        page.posts
    }

    async fn total(backend: &StoreUnderTest, query: &PostQuery) -> u64 {
        let page = PageRequest { number: 0, size: 1 };
        backend.search.search(query, page).await.unwrap().total
    }

    async fn scanned(backend: &StoreUnderTest, query: &PostQuery) -> Vec<Post> {
        let mut scan = backend
            .search
            .scan(query, NonZeroUsize::new(2).unwrap())
            .await
            .unwrap();
        let mut posts = Vec::new();
        let mut batch = Vec::new();
        while scan.next_batch(&mut batch).await.unwrap() {
            posts.append(&mut batch);
        }
        scan.close().await.unwrap();
        posts
    }

    /// Nothing between `put` and the reads: no sleep, no refresh, no reopening.
    pub async fn a_stored_post_is_found_at_once_by_search_scan_and_counts<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = StoreUnderTest>,
    {
        let backend = load(served_posts()).await;
        let everything = PostQuery::default();
        let before = total(&backend, &everything).await;
        let counted_before = backend.stats.summary(&everything).await.unwrap().posts;
        let post = fresh(
            "fresh-1",
            "A zeppelin over the harbour, \"so quiet\" — Überraschung!",
            &["#skyward", "#harbour"],
        );

        backend.store.put(&post).await.unwrap();

        assert_eq!(total(&backend, &everything).await, before + 1);
        for words in [
            &["zeppelin"][..],
            &["#skyward"],
            &["skyward", "harbour"],
            &["überraschung"],
        ] {
            assert_eq!(
                found(&backend, &terms(words)).await,
                std::slice::from_ref(&post),
                "a search for {words:?} finds the post exactly as stored"
            );
        }
        let exported = scanned(&backend, &everything).await;
        assert_eq!(exported.len() as u64, before + 1, "an export holds it");
        assert!(exported.contains(&post));
        assert_eq!(
            scanned(&backend, &terms(&["zeppelin"])).await,
            std::slice::from_ref(&post)
        );
        let summary = backend.stats.summary(&everything).await.unwrap();
        assert_eq!(summary.posts, counted_before + 1, "reports count it");
        assert_eq!(summary.newest, Some(post.date_created));
        let tags = backend
            .stats
            .top_tags(&terms(&["zeppelin"]), NonZeroUsize::new(10).unwrap())
            .await
            .unwrap();
        let mut tag_names: Vec<&str> = tags.tags.iter().map(|tag| tag.tag.as_str()).collect();
        tag_names.sort_unstable();
        assert_eq!(tag_names, ["#harbour", "#skyward"]);
    }

    pub async fn storing_the_same_id_again_replaces_the_post<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = StoreUnderTest>,
    {
        let backend = load(served_posts()).await;
        let before = total(&backend, &PostQuery::default()).await;
        let first = fresh("fresh-2", "a zeppelin", &[]);
        let second = Post {
            content: "an airship".into(),
            date_created: first.date_created + Duration::seconds(1),
            ..first.clone()
        };
        backend.store.put(&first).await.unwrap();
        backend.store.put(&second).await.unwrap();
        assert_eq!(total(&backend, &PostQuery::default()).await, before + 1);
        assert!(found(&backend, &terms(&["zeppelin"])).await.is_empty());
        assert_eq!(found(&backend, &terms(&["airship"])).await, [second]);
    }

    pub async fn posts_stored_at_the_same_time_are_all_stored<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = StoreUnderTest>,
    {
        const POSTS: usize = 12;
        let backend = load(served_posts()).await;
        let before = total(&backend, &PostQuery::default()).await;
        let mut puts = tokio::task::JoinSet::new();
        for i in 0..POSTS {
            let store = Arc::clone(&backend.store);
            puts.spawn(async move {
                let post = fresh(&format!("crowd-{i}"), "a crowd of zeppelins", &["#crowd"]);
                store.put(&post).await
            });
        }
        while let Some(stored) = puts.join_next().await {
            stored.unwrap().unwrap();
        }
        assert_eq!(
            total(&backend, &PostQuery::default()).await,
            before + POSTS as u64
        );
        assert_eq!(found(&backend, &terms(&["#crowd"])).await.len(), POSTS);
    }
}

/// Storing [`new_post`](super::new_post), where the backend can only answer what a cluster
/// answers to that one request.
pub mod served {
    use super::new_post;
    use crate::PostStore;
    use std::future::Future;
    use std::sync::Arc;

    pub async fn a_new_post_is_stored<M, F>(make: M)
    where
        M: Fn() -> F,
        F: Future<Output = Arc<dyn PostStore>>,
    {
        make().await.put(&new_post()).await.unwrap();
    }

    /// A retry after an unclear failure sends the same post again.
    pub async fn storing_the_same_post_again_succeeds<M, F>(make: M)
    where
        M: Fn() -> F,
        F: Future<Output = Arc<dyn PostStore>>,
    {
        let store = make().await;
        store.put(&new_post()).await.unwrap();
        store.put(&new_post()).await.unwrap();
    }
}

/// Failures of the backend behind a store, mapped to error kinds.
pub mod faults {
    use super::new_post;
    use crate::{IndexError, IndexErrorKind, PostStore};
    use std::future::Future;
    use std::sync::Arc;

    /// A way the backend behind a store can fail.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum WriteFault {
        /// Every write is refused as too many (HTTP 429: a full write queue).
        Overloaded,
        /// Every write is answered "unavailable" (HTTP 503).
        Unavailable,
        /// Nothing listens where the backend should be.
        Unreachable,
        /// The backend accepts writes and never answers.
        TooSlow,
        /// The backend answers with something that is not a write's answer (a proxy's page).
        Unreadable,
        /// The backend refuses the document itself (a mapping it does not fit).
        RefusesThePost,
    }

    async fn put_error(store: &dyn PostStore) -> IndexError {
        match store.put(&new_post()).await {
            Ok(()) => panic!("a failing backend stored the post"),
            Err(error) => error,
        }
    }

    pub async fn overload_and_outages_are_transient_unavailable_errors<M, F>(make: M)
    where
        M: Fn(WriteFault) -> F,
        F: Future<Output = Arc<dyn PostStore>>,
    {
        for fault in [
            WriteFault::Overloaded,
            WriteFault::Unavailable,
            WriteFault::Unreachable,
        ] {
            let error = put_error(&*make(fault).await).await;
            assert_eq!(
                error.kind,
                IndexErrorKind::Unavailable,
                "{fault:?}: {error}"
            );
            assert!(error.kind.is_transient(), "{fault:?}: worth trying again");
        }
    }

    pub async fn a_backend_too_slow_to_answer_is_a_timeout<M, F>(make: M)
    where
        M: Fn(WriteFault) -> F,
        F: Future<Output = Arc<dyn PostStore>>,
    {
        let error = put_error(&*make(WriteFault::TooSlow).await).await;
        assert_eq!(error.kind, IndexErrorKind::Timeout, "{error}");
    }

    pub async fn an_unreadable_answer_is_corrupt<M, F>(make: M)
    where
        M: Fn(WriteFault) -> F,
        F: Future<Output = Arc<dyn PostStore>>,
    {
        let error = put_error(&*make(WriteFault::Unreadable).await).await;
        assert_eq!(error.kind, IndexErrorKind::Corrupt, "{error}");
    }

    pub async fn a_refused_post_is_rejected_and_not_transient<M, F>(make: M)
    where
        M: Fn(WriteFault) -> F,
        F: Future<Output = Arc<dyn PostStore>>,
    {
        let error = put_error(&*make(WriteFault::RefusesThePost).await).await;
        assert_eq!(error.kind, IndexErrorKind::Rejected, "{error}");
        assert!(
            !error.kind.is_transient(),
            "the same post would be refused again"
        );
    }
}
