//! [`PostStore`] on the embedded index: a new post is committed and the reader reloaded before
//! `put` returns, so the next search, scan or count sees it (near-real-time the way tantivy
//! offers it: a small segment per commit, merged in the background).
//!
//! Commits are grouped: the index has one writer at a time, and a commit (opening the writer,
//! writing a segment, syncing it, reloading the reader) costs the same for one post as for ten.
//! So a post joins the posts waiting, then waits for the turn to write; whoever gets the turn
//! commits every post waiting at that moment in one commit and tells each its outcome. Under a
//! steady stream of posts each commit carries the posts that arrived during the one before,
//! instead of each post waiting behind every earlier post's own commit. While another process
//! holds the writer (an `sde import` into the stack's folder), storing fails as `Unavailable`.

use crate::error::from_join;
use crate::index::TantivyIndex;
use async_trait::async_trait;
use sde_core::{IndexError, IndexErrorKind, Post, PostStore, describe_chain};
use std::sync::mpsc;
use tracing::debug;

/// What a post is told about the commit that carried it: the failure's kind and description.
type Outcome = Result<(), (IndexErrorKind, String)>;

/// A post waiting for the next commit, and where its outcome goes.
#[derive(Debug)]
pub(crate) struct WaitingPost {
    post: Post,
    answer: mpsc::Sender<Outcome>,
}

impl TantivyIndex {
    fn put_now(&self, post: &Post) -> Result<(), IndexError> {
        let (answer, answered) = mpsc::channel();
        self.waiting_posts().push(WaitingPost {
            post: post.clone(),
            answer,
        });
        let turn = self.posting_turn();
        // The holder before us may have committed this post with its own.
        let outcome = match answered.try_recv() {
            Ok(outcome) => outcome,
            Err(_) => {
                let batch = std::mem::take(&mut *self.waiting_posts());
                let outcome = self
                    .commit_posts(batch.iter().map(|waiting| &waiting.post))
                    .map_err(|error| (error.kind, describe_chain(&error)));
                for waiting in batch {
                    // A poster that has gone (its task was dropped) needs no answer.
                    let _ = waiting.answer.send(outcome.clone());
                }
                drop(turn);
                answered.recv().unwrap_or_else(|_| {
                    Err((
                        IndexErrorKind::Unavailable,
                        "the post's commit was abandoned".into(),
                    ))
                })
            }
        };
        outcome.map_err(|(kind, description)| IndexError::new(kind, description))
    }

    /// Adds `posts` and commits them at once; the caller holds the posting turn.
    fn commit_posts<'a>(&self, posts: impl Iterator<Item = &'a Post>) -> Result<(), IndexError> {
        let mut writer = self.small_batch_writer()?;
        let mut count = 0;
        for post in posts {
            writer.add(post)?;
            count += 1;
        }
        let total = writer.commit()?;
        debug!(posts = count, total, "new posts committed");
        Ok(())
    }
}

#[async_trait]
impl PostStore for TantivyIndex {
    async fn put(&self, post: &Post) -> Result<(), IndexError> {
        let index = self.clone();
        let post = post.clone();
        tokio::task::spawn_blocking(move || index.put_now(&post))
            .await
            .map_err(|error| from_join("storing a post", error))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use sde_core::{PageRequest, PostQuery, SearchIndex, UserId};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn posts_stored_at_once_are_each_searchable_when_their_put_returns() {
        let index = TantivyIndex::in_memory().unwrap();
        let mut puts = tokio::task::JoinSet::new();
        for i in 0..40 {
            let index = index.clone();
            puts.spawn(async move {
                let word = format!("word{i}x");
                let post = Post {
                    id: format!("p{i}"),
                    user_id: UserId::Int(1),
                    date_created: Utc::now(),
                    content: format!("post {word}"),
                    tags: vec![],
                };
                index.put(&post).await.unwrap();
                let query = PostQuery {
                    terms: vec![word],
                    date_range: Default::default(),
                };
                index
                    .search(&query, PageRequest::default())
                    .await
                    .unwrap()
                    .total
            });
        }
        while let Some(found) = puts.join_next().await {
            assert_eq!(found.unwrap(), 1, "a post is searchable once put returns");
        }
        assert_eq!(index.num_posts(), 40);
    }
}
