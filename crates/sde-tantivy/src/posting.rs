//! [`PostStore`] on the embedded index: each new post is committed on its own and the reader
//! reloaded before `put` returns, so the next search, scan or count sees it (near-real-time the
//! way tantivy offers it: a small segment per post, merged in the background).
//!
//! The index has one writer at a time: posts stored at once through the same [`TantivyIndex`]
//! take it in turn; while another process holds it (an `sde import` into the stack's folder),
//! storing fails as `Unavailable`.

use crate::error::from_join;
use crate::index::TantivyIndex;
use async_trait::async_trait;
use sde_core::{IndexError, Post, PostStore};
use tracing::debug;

impl TantivyIndex {
    fn put_now(&self, post: &Post) -> Result<(), IndexError> {
        let (_turn, mut writer) = self.single_post_writer()?;
        writer.add(post)?;
        let posts = writer.commit()?;
        debug!(post = %post.id, posts, "post committed");
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
