//! [`LocalSubscriptions`]: the local stack's subscriptions, kept in memory under one lock and
//! written to one JSON file under the data directory (`subscriptions.json`) after every change —
//! to a temporary file first, synced, then renamed over the old one — so they survive a restart
//! and a crash mid-write leaves the previous version whole. A change the file could not take is
//! undone in memory and answered as an error.

use async_trait::async_trait;
use sde_core::{
    Added, SubscriberPage, Subscription, SubscriptionKind, SubscriptionTerm, Subscriptions,
    SubscriptionsError, SubscriptionsErrorKind,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// A user's terms of one kind: normalised term → the term as given.
type Terms = BTreeMap<String, String>;
/// Per kind, per user (`sub`), their terms. Ordered, so paging follows (user, normalised term).
type Held = BTreeMap<SubscriptionKind, BTreeMap<String, Terms>>;

/// One subscription as the file stores it.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    kind: SubscriptionKind,
    user: String,
    term: String,
}

/// Where a page of [`Subscriptions::subscribers`] starts: after this user's this term.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    user: String,
    normalised: String,
}

/// Subscriptions persisted in a file.
#[derive(Debug)]
pub struct LocalSubscriptions {
    path: PathBuf,
    held: Mutex<Held>,
}

impl LocalSubscriptions {
    /// Opens the subscriptions kept at `path`, or none if it does not exist yet.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut held = Held::new();
        match std::fs::read(path) {
            Ok(bytes) => {
                let records: Vec<Record> = serde_json::from_slice(&bytes).map_err(|error| {
                    anyhow::anyhow!("reading subscriptions from {}: {error}", path.display())
                })?;
                for record in records {
                    let term = SubscriptionTerm::parse(&record.term)?;
                    held.entry(record.kind)
                        .or_default()
                        .entry(record.user)
                        .or_default()
                        .insert(term.normalised().to_owned(), term.text().to_owned());
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
            held: Mutex::new(held),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes everything held to the file, replacing it whole.
    fn persist(&self, held: &Held) -> Result<(), SubscriptionsError> {
        let records: Vec<Record> = held
            .iter()
            .flat_map(|(kind, users)| {
                users.iter().flat_map(move |(user, terms)| {
                    terms.values().map(move |term| Record {
                        kind: *kind,
                        user: user.clone(),
                        term: term.clone(),
                    })
                })
            })
            .collect();
        write_atomically(&self.path, &records).map_err(|error| {
            SubscriptionsError::new(
                SubscriptionsErrorKind::Unavailable,
                format!("writing {}", self.path.display()),
            )
            .with_source(error)
        })
    }
}

fn write_atomically(path: &Path, records: &[Record]) -> std::io::Result<()> {
    let temp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(&serde_json::to_vec(records)?)?;
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
        let mut held = self.lock();
        let terms = held
            .entry(kind)
            .or_default()
            .entry(user.to_owned())
            .or_default();
        if terms.contains_key(term.normalised()) {
            return Ok(Added::AlreadySubscribed);
        }
        let count = u32::try_from(terms.len()).unwrap_or(u32::MAX);
        if count >= cap {
            return Ok(Added::Full { held: count });
        }
        terms.insert(term.normalised().to_owned(), term.text().to_owned());
        if let Err(error) = self.persist(&held) {
            forget(&mut held, user, kind, term);
            return Err(error);
        }
        Ok(Added::Added)
    }

    async fn remove(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
    ) -> Result<bool, SubscriptionsError> {
        let mut held = self.lock();
        let Some(text) = forget(&mut held, user, kind, term) else {
            return Ok(false);
        };
        if let Err(error) = self.persist(&held) {
            held.entry(kind)
                .or_default()
                .entry(user.to_owned())
                .or_default()
                .insert(term.normalised().to_owned(), text);
            return Err(error);
        }
        Ok(true)
    }

    async fn list(
        &self,
        user: &str,
        kind: SubscriptionKind,
    ) -> Result<Vec<String>, SubscriptionsError> {
        let held = self.lock();
        Ok(held
            .get(&kind)
            .and_then(|users| users.get(user))
            .map(|terms| terms.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn subscribers(
        &self,
        kind: SubscriptionKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SubscriberPage, SubscriptionsError> {
        let after: Option<Cursor> =
            after
                .map(serde_json::from_str)
                .transpose()
                .map_err(|error| {
                    SubscriptionsError::new(
                        SubscriptionsErrorKind::Rejected,
                        "reading a page token",
                    )
                    .with_source(error)
                })?;
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        let held = self.lock();
        let mut page = SubscriberPage::default();
        let Some(users) = held.get(&kind) else {
            return Ok(page);
        };
        let all = users.iter().flat_map(|(user, terms)| {
            terms
                .iter()
                .map(move |(normalised, term)| (user, normalised, term))
        });
        let mut rest = all
            .skip_while(|(user, normalised, _)| {
                after.as_ref().is_some_and(|after| {
                    (user.as_str(), normalised.as_str())
                        <= (after.user.as_str(), after.normalised.as_str())
                })
            })
            .peekable();
        let mut last = None;
        while page.subscriptions.len() < limit {
            let Some((user, normalised, term)) = rest.next() else {
                break;
            };
            page.subscriptions.push(Subscription {
                user: user.clone(),
                term: term.clone(),
            });
            last = Some(Cursor {
                user: user.clone(),
                normalised: normalised.clone(),
            });
        }
        if rest.peek().is_some() {
            page.next = last
                .map(|cursor| serde_json::to_string(&cursor))
                .transpose()
                .map_err(|error| {
                    SubscriptionsError::new(SubscriptionsErrorKind::Rejected, "making a page token")
                        .with_source(error)
                })?;
        }
        Ok(page)
    }
}

/// Takes `term` out of what `user` holds of `kind`; returns its text if it was there.
fn forget(
    held: &mut Held,
    user: &str,
    kind: SubscriptionKind,
    term: &SubscriptionTerm,
) -> Option<String> {
    let users = held.get_mut(&kind)?;
    let terms = users.get_mut(user)?;
    let text = terms.remove(term.normalised())?;
    if terms.is_empty() {
        users.remove(user);
    }
    Some(text)
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
