//! `posts`: store a new post by the signed-in caller, searchable once this returns.
//!
//! The body carries only the text and the tags ([`PostRequest`]); the author is the caller's
//! `sub`, the id a fresh UUID and the date the server's clock, so no one can post as someone
//! else or back-date a post. The answer is the post as stored, in the field names of `/search`
//! results.
//!
//! Once stored, the post is put on the [`NotificationQueue`] for its real-time subscribers, after
//! the store and never instead of the answer. A queue that fails then does not fail the request:
//! the post is stored and searchable, and answering an error would make the client post it again
//! (a second post, with a new id). The failure is logged as an error with the post's id (an
//! operator can queue `{"post": …}` again by hand) and the answer is still 201: those subscribers
//! miss that one post's real-time notice; their daily digests still carry it.

use crate::api_error::ApiError;
use chrono::Utc;
use sde_core::{
    NewPost, NotificationQueue, Owner, Post, PostRequest, PostStore, RealTimeJob, UserId,
    describe_chain,
};
use tracing::{error, info};

/// Validates `request` and stores it as a new post by `author`. Returns the stored post once the
/// store has made it searchable (see [`PostStore::put`]) and it is queued for real-time notices
/// (see the module's note on a queue failure): 400 for a malformed post, 413 for one past a
/// limit, 503 when the index is unavailable.
pub async fn create_post(
    store: &dyn PostStore,
    queue: &dyn NotificationQueue,
    author: &Owner,
    request: PostRequest,
) -> Result<Post, ApiError> {
    let post = NewPost::try_from(request)?.into_post(
        uuid::Uuid::new_v4().to_string(),
        UserId::Text(author.sub.clone()),
        Utc::now(),
    );
    store
        .put(&post)
        .await
        .map_err(|error| ApiError::index_failure(error, "storing the post failed"))?;
    info!(post = %post.id, tags = post.tags.len(), chars = post.content.chars().count(),
          "post stored");
    let job = RealTimeJob { post };
    if let Err(failure) = queue.enqueue(&job).await {
        error!(post = %job.post.id, error = %describe_chain(&failure),
               "a stored post could not be queued for real-time notices");
    }
    Ok(job.post)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration};
    use sde_core::testing::RecordingQueue;
    use sde_core::{IndexError, IndexErrorKind, MAX_POST_CHARS, MAX_TAGS};
    use serde_json::{Value, json};
    use std::sync::Mutex;

    /// Remembers what it was asked to store, or fails with `failure`.
    #[derive(Debug, Default)]
    struct RecordingStore {
        stored: Mutex<Vec<Post>>,
        failure: Option<IndexErrorKind>,
    }

    impl RecordingStore {
        fn failing(kind: IndexErrorKind) -> Self {
            RecordingStore {
                failure: Some(kind),
                ..RecordingStore::default()
            }
        }

        fn stored(&self) -> Vec<Post> {
            self.stored
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        }
    }

    #[async_trait::async_trait]
    impl PostStore for RecordingStore {
        async fn put(&self, post: &Post) -> Result<(), IndexError> {
            if let Some(kind) = self.failure {
                return Err(IndexError::new(kind, "storing a post at 10.0.0.7"));
            }
            self.stored
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(post.clone());
            Ok(())
        }
    }

    fn ada() -> Owner {
        Owner {
            sub: "5f0c2a9e-1b3d-4e5f-8a7b-9c0d1e2f3a4b".into(),
            email: "ada@example.com".into(),
        }
    }

    fn request(body: Value) -> PostRequest {
        match serde_json::from_value(body) {
            Ok(request) => request,
            Err(error) => panic!("not a post request: {error}"),
        }
    }

    async fn refused(body: Value) -> (u16, Value, usize) {
        let store = RecordingStore::default();
        let Err(error) =
            create_post(&store, &RecordingQueue::default(), &ada(), request(body)).await
        else {
            panic!("the post was stored");
        };
        (error.status(), error.body(), store.stored().len())
    }

    #[tokio::test]
    async fn a_post_is_stored_as_the_callers_with_a_fresh_id_and_the_time_now() {
        let store = RecordingStore::default();
        let before = Utc::now();
        let post = create_post(
            &store,
            &RecordingQueue::default(),
            &ada(),
            request(
                json!({"Post": "Cats, \"again\"\n🐈", "Tags": ["#Cats", "coffee", "#cats", ""]}),
            ),
        )
        .await
        .unwrap();
        let after = Utc::now();

        assert_eq!(
            store.stored(),
            std::slice::from_ref(&post),
            "what is answered is what was stored"
        );
        assert_eq!(post.user_id, UserId::Text(ada().sub));
        assert_eq!(post.content, "Cats, \"again\"\n🐈");
        assert_eq!(post.tags, ["#cats", "#coffee"]);
        let id = uuid::Uuid::parse_str(&post.id).unwrap();
        assert_eq!(id.get_version_num(), 4);
        let millisecond = Duration::milliseconds(1);
        assert!(before - millisecond <= post.date_created && post.date_created <= after);
        assert_eq!(post.date_created.timestamp_subsec_nanos() % 1_000_000, 0);

        let again = create_post(
            &store,
            &RecordingQueue::default(),
            &ada(),
            request(json!({"Post": "hi"})),
        )
        .await
        .unwrap();
        assert_ne!(again.id, post.id, "every post gets its own id");
    }

    #[tokio::test]
    async fn the_answer_uses_the_field_names_of_search_results() {
        let post = create_post(
            &RecordingStore::default(),
            &RecordingQueue::default(),
            &ada(),
            request(json!({"Post": "hi", "Tags": ["#a"]})),
        )
        .await
        .unwrap();
        let json = serde_json::to_value(&post).unwrap();
        let mut fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(fields, ["Content", "DateCreated", "Tags", "UserID", "uuid"]);
        assert_eq!(json["UserID"], json!(ada().sub));
        let date: DateTime<Utc> = json["DateCreated"].as_str().unwrap().parse().unwrap();
        assert_eq!(date, post.date_created);
    }

    #[tokio::test]
    async fn a_malformed_post_is_a_400_and_nothing_is_stored() {
        for (body, message) in [
            (json!({"Post": "  "}), "\"Post\" must not be empty"),
            (
                json!({"Post": "hi", "Tags": ["#two words"]}),
                "Tags[0] must be one word, without spaces or control characters",
            ),
        ] {
            assert_eq!(refused(body).await, (400, json!({"message": message}), 0));
        }
    }

    #[tokio::test]
    async fn a_post_past_a_limit_is_a_413_and_nothing_is_stored() {
        let long = "x".repeat(MAX_POST_CHARS + 1);
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("#t{i}")).collect();
        let long_tag = format!("#{}", "y".repeat(100));
        for (body, message) in [
            (
                json!({"Post": long}),
                "\"Post\" is 2001 characters long; the limit is 2000",
            ),
            (
                json!({"Post": "hi", "Tags": many}),
                "a post may carry at most 20 different tags, not 21",
            ),
            (
                json!({"Post": "hi", "Tags": [long_tag]}),
                "Tags[0] is 101 characters long with its #; the limit is 64",
            ),
        ] {
            assert_eq!(refused(body).await, (413, json!({"message": message}), 0));
        }
    }

    #[tokio::test]
    async fn an_index_failure_is_a_503_or_an_opaque_500() {
        for (kind, status) in [
            (IndexErrorKind::Unavailable, 503),
            (IndexErrorKind::Timeout, 503),
            (IndexErrorKind::Rejected, 500),
            (IndexErrorKind::Corrupt, 500),
        ] {
            let store = RecordingStore::failing(kind);
            let error = create_post(
                &store,
                &RecordingQueue::default(),
                &ada(),
                request(json!({"Post": "hi"})),
            )
            .await
            .unwrap_err();
            assert_eq!(error.status(), status, "{kind:?}");
            assert!(
                !error.body().to_string().contains("10.0.0.7"),
                "{kind:?}: {}",
                error.body()
            );
            assert!(
                sde_core::describe_chain(&error).contains("10.0.0.7"),
                "the log keeps the cause"
            );
        }
    }

    #[tokio::test]
    async fn a_stored_post_is_queued_for_real_time_notices() {
        let store = RecordingStore::default();
        let queue = RecordingQueue::default();
        let post = create_post(
            &store,
            &queue,
            &ada(),
            request(json!({"Post": "aurora tonight"})),
        )
        .await
        .unwrap();
        let jobs = queue.jobs.lock().unwrap().clone();
        assert_eq!(jobs, [RealTimeJob { post }]);
    }

    #[tokio::test]
    async fn a_post_not_stored_is_not_queued() {
        let store = RecordingStore::failing(IndexErrorKind::Unavailable);
        let queue = RecordingQueue::default();
        create_post(&store, &queue, &ada(), request(json!({"Post": "aurora"})))
            .await
            .unwrap_err();
        assert!(queue.jobs.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_queue_that_fails_does_not_fail_a_stored_post() {
        let store = RecordingStore::default();
        let queue = RecordingQueue {
            down: true,
            ..RecordingQueue::default()
        };
        let post = create_post(&store, &queue, &ada(), request(json!({"Post": "aurora"})))
            .await
            .unwrap();
        assert_eq!(store.stored(), [post], "stored once, answered as stored");
    }
}
