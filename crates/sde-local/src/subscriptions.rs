//! [`LocalSubscriptions`]: the local stack's subscriptions, kept in memory under one lock and
//! written to one JSON file under the data directory (`subscriptions.json`) after every change —
//! to a temporary file first, synced, then renamed over the old one — so they survive a restart
//! and a crash mid-write leaves the previous version whole. A change the file could not take is
//! undone in memory and answered as an error.
//!
//! The file is `{"subscriptions": [...], "addresses": {"<sub>": "<email>"}}`; a file of an earlier
//! version, a bare array of subscriptions, is still read.

use async_trait::async_trait;
use sde_core::{
    Added, SubscriberPage, SubscriptionBook, SubscriptionKind, SubscriptionTerm, Subscriptions,
    SubscriptionsError, SubscriptionsErrorKind,
};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// One subscription as the file stores it.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    kind: SubscriptionKind,
    user: String,
    term: String,
}

/// The file: every subscription, and every subscriber's address.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    subscriptions: Vec<Record>,
    #[serde(default)]
    addresses: std::collections::BTreeMap<String, String>,
}

/// What the file may hold: this version's object, or the earlier bare array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SavedAnyVersion {
    Current(Saved),
    Terms(Vec<Record>),
}

/// Subscriptions persisted in a file.
#[derive(Debug)]
pub struct LocalSubscriptions {
    path: PathBuf,
    book: Mutex<SubscriptionBook>,
}

impl LocalSubscriptions {
    /// Opens the subscriptions kept at `path`, or none if it does not exist yet.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut book = SubscriptionBook::default();
        match std::fs::read(path) {
            Ok(bytes) => {
                let saved: SavedAnyVersion = serde_json::from_slice(&bytes).map_err(|error| {
                    anyhow::anyhow!("reading subscriptions from {}: {error}", path.display())
                })?;
                let saved = match saved {
                    SavedAnyVersion::Current(saved) => saved,
                    SavedAnyVersion::Terms(subscriptions) => Saved {
                        subscriptions,
                        addresses: Default::default(),
                    },
                };
                for (user, address) in &saved.addresses {
                    book.set_address(user, address);
                }
                for record in saved.subscriptions {
                    let term = SubscriptionTerm::parse(&record.term)?;
                    book.add(&record.user, record.kind, &term, u32::MAX);
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(anyhow::Error::new(error)
                    .context(format!("reading subscriptions from {}", path.display())));
            }
        }
        Ok(LocalSubscriptions {
            path: path.to_owned(),
            book: Mutex::new(book),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SubscriptionBook> {
        self.book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes the whole book to the file, replacing it.
    fn persist(&self, book: &SubscriptionBook) -> Result<(), SubscriptionsError> {
        let saved = Saved {
            subscriptions: book
                .iter()
                .map(|(kind, user, term)| Record {
                    kind,
                    user: user.to_owned(),
                    term: term.to_owned(),
                })
                .collect(),
            addresses: book
                .addresses()
                .map(|(user, address)| (user.to_owned(), address.to_owned()))
                .collect(),
        };
        write_atomically(&self.path, &saved).map_err(|error| {
            SubscriptionsError::new(
                SubscriptionsErrorKind::Unavailable,
                format!("writing {}", self.path.display()),
            )
            .with_source(error)
        })
    }
}

fn write_atomically(path: &Path, saved: &Saved) -> std::io::Result<()> {
    let temp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(&serde_json::to_vec(saved)?)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}

#[async_trait]
impl Subscriptions for LocalSubscriptions {
    async fn add(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
        cap: u32,
    ) -> Result<Added, SubscriptionsError> {
        let mut book = self.lock();
        let added = book.add(user, kind, term, cap);
        if added == Added::Added
            && let Err(error) = self.persist(&book)
        {
            book.remove(user, kind, term);
            return Err(error);
        }
        Ok(added)
    }

    async fn remove(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
    ) -> Result<bool, SubscriptionsError> {
        let mut book = self.lock();
        let Some(text) = book.remove(user, kind, term) else {
            return Ok(false);
        };
        if let Err(error) = self.persist(&book) {
            let kept = SubscriptionTerm::parse(&text).unwrap_or_else(|_| term.clone());
            book.add(user, kind, &kept, u32::MAX);
            return Err(error);
        }
        Ok(true)
    }

    async fn list(
        &self,
        user: &str,
        kind: SubscriptionKind,
    ) -> Result<Vec<String>, SubscriptionsError> {
        Ok(self.lock().list(user, kind))
    }

    async fn subscribers(
        &self,
        kind: SubscriptionKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SubscriberPage, SubscriptionsError> {
        self.lock().page(kind, after, limit)
    }

    async fn set_address(&self, user: &str, address: &str) -> Result<(), SubscriptionsError> {
        let mut book = self.lock();
        if book.address(user) == Some(address) {
            return Ok(());
        }
        let before = book.set_address(user, address);
        if let Err(error) = self.persist(&book) {
            match before {
                Some(before) => {
                    book.set_address(user, &before);
                }
                None => book.forget_address(user),
            }
            return Err(error);
        }
        Ok(())
    }

    async fn address(&self, user: &str) -> Result<Option<String>, SubscriptionsError> {
        Ok(self.lock().address(user).map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn local_subscriptions_keep_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let subscriptions =
            LocalSubscriptions::open(&dir.path().join("subscriptions.json")).unwrap();
        sde_core::testing::subscriptions_contract(Arc::new(subscriptions)).await;
    }

    #[tokio::test]
    async fn subscriptions_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscriptions.json");
        let first = LocalSubscriptions::open(&path).unwrap();
        first.set_address("ada", "ada@example.com").await.unwrap();
        for text in ["Cats", "dogs"] {
            let term = SubscriptionTerm::parse(text).unwrap();
            first
                .add("ada", SubscriptionKind::Daily, &term, 50)
                .await
                .unwrap();
        }
        let term = SubscriptionTerm::parse("dogs").unwrap();
        assert!(
            first
                .remove("ada", SubscriptionKind::Daily, &term)
                .await
                .unwrap()
        );
        drop(first);

        let reopened = LocalSubscriptions::open(&path).unwrap();
        assert_eq!(
            reopened.list("ada", SubscriptionKind::Daily).await.unwrap(),
            ["Cats"]
        );
        assert_eq!(
            reopened.address("ada").await.unwrap().as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(
            reopened
                .add(
                    "ada",
                    SubscriptionKind::Daily,
                    &SubscriptionTerm::parse("cats").unwrap(),
                    50
                )
                .await
                .unwrap(),
            Added::AlreadySubscribed
        );
        assert!(
            !dir.path().join("subscriptions.json.tmp").exists(),
            "no temporary file is left behind"
        );
    }

    #[tokio::test]
    async fn a_file_of_the_earlier_version_without_addresses_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscriptions.json");
        std::fs::write(
            &path,
            r#"[{"kind": "real-time", "user": "ada", "term": "Aurora"}]"#,
        )
        .unwrap();
        let subscriptions = LocalSubscriptions::open(&path).unwrap();
        assert_eq!(
            subscriptions
                .list("ada", SubscriptionKind::RealTime)
                .await
                .unwrap(),
            ["Aurora"]
        );
        assert_eq!(subscriptions.address("ada").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_change_the_file_cannot_take_is_an_error_and_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        // The file's directory is gone, so it cannot be written.
        let path = dir.path().join("gone").join("subscriptions.json");
        let subscriptions = LocalSubscriptions::open(&path).unwrap();
        let term = SubscriptionTerm::parse("cats").unwrap();
        let error = subscriptions
            .add("ada", SubscriptionKind::Daily, &term, 50)
            .await
            .unwrap_err();
        assert_eq!(error.kind, SubscriptionsErrorKind::Unavailable);
        assert_eq!(
            subscriptions
                .list("ada", SubscriptionKind::Daily)
                .await
                .unwrap(),
            Vec::<String>::new()
        );
    }
}
