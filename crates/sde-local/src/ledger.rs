//! [`LocalDeliveryLedger`]: the local stack's delivery ledger, a map under one lock that is also
//! written, change by change, to a JSON-lines file under the data directory (`deliveries.jsonl`),
//! each line synced before the change is answered, so a restart remembers what was sent. Opening
//! reads the lines in order (the last line of a key wins), drops expired records and writes the
//! file afresh with only the live ones, so it does not grow without end. A torn last line (a
//! crash mid-write) is skipped.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sde_core::{Claim, DeliveryLedger, LedgerError, LedgerErrorKind, LedgerRecord};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// One line of the file: a key's record, or its removal (`record: null`).
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    key: String,
    record: Option<LedgerRecord>,
}

#[derive(Debug)]
struct State {
    records: HashMap<String, LedgerRecord>,
    file: File,
}

/// The ledger, persisted in a file.
#[derive(Debug)]
pub struct LocalDeliveryLedger {
    path: PathBuf,
    state: Mutex<State>,
}

impl LocalDeliveryLedger {
    /// Opens the ledger kept at `path`, or an empty one if it does not exist yet.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut records = HashMap::new();
        match File::open(path) {
            Ok(file) => {
                for line in BufReader::new(file).lines() {
                    let line = line?;
                    let Ok(line) = serde_json::from_str::<Line>(&line) else {
                        continue;
                    };
                    match line.record {
                        Some(record) => records.insert(line.key, record),
                        None => records.remove(&line.key),
                    };
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(anyhow::Error::new(error)
                    .context(format!("reading the delivery ledger {}", path.display())));
            }
        }
        let now = Utc::now();
        records.retain(|_, record: &mut LedgerRecord| record.expires_at > now);
        let temp = path.with_extension("jsonl.tmp");
        {
            let mut fresh = File::create(&temp)?;
            for (key, record) in &records {
                let line = Line {
                    key: key.clone(),
                    record: Some(record.clone()),
                };
                fresh.write_all(&serde_json::to_vec(&line)?)?;
                fresh.write_all(b"\n")?;
            }
            fresh.sync_all()?;
        }
        std::fs::rename(&temp, path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(LocalDeliveryLedger {
            path: path.to_owned(),
            state: Mutex::new(State { records, file }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes `key`'s new record (or its removal) to the file, then to the map.
    fn write(
        &self,
        state: &mut State,
        key: &str,
        record: Option<LedgerRecord>,
    ) -> Result<(), LedgerError> {
        let line = Line {
            key: key.to_owned(),
            record,
        };
        let failed = |error: std::io::Error| {
            LedgerError::new(
                LedgerErrorKind::Unavailable,
                format!("writing {}", self.path.display()),
            )
            .with_source(error)
        };
        let mut bytes = serde_json::to_vec(&line).map_err(|error| failed(error.into()))?;
        bytes.push(b'\n');
        state.file.write_all(&bytes).map_err(failed)?;
        state.file.sync_data().map_err(failed)?;
        match line.record {
            Some(record) => state.records.insert(line.key, record),
            None => state.records.remove(&line.key),
        };
        Ok(())
    }
}

#[async_trait]
impl DeliveryLedger for LocalDeliveryLedger {
    async fn claim(
        &self,
        key: &str,
        lease_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let mut state = self.lock();
        if let Some(blocked) = state
            .records
            .get(key)
            .and_then(|record| record.blocks(Utc::now()))
        {
            return Ok(blocked);
        }
        let token = sde_core::ledger::claim_token();
        let record = LedgerRecord {
            token: Some(token.clone()),
            lease_until,
            expires_at,
        };
        self.write(&mut state, key, Some(record))?;
        Ok(Claim::Claimed { token })
    }

    async fn mark_sent(&self, key: &str, expires_at: DateTime<Utc>) -> Result<(), LedgerError> {
        let mut state = self.lock();
        let record = LedgerRecord {
            token: None,
            lease_until: expires_at,
            expires_at,
        };
        self.write(&mut state, key, Some(record))
    }

    async fn release(&self, key: &str, token: &str) -> Result<(), LedgerError> {
        let mut state = self.lock();
        let held = state
            .records
            .get(key)
            .is_some_and(|record| record.token.as_deref() == Some(token));
        if held {
            self.write(&mut state, key, None)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_local_ledger_keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = LocalDeliveryLedger::open(&dir.path().join("deliveries.jsonl")).unwrap();
        sde_core::testing::delivery_ledger_contract(Arc::new(ledger)).await;
    }

    #[tokio::test]
    async fn what_was_sent_is_remembered_after_a_restart_and_expired_records_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deliveries.jsonl");
        let lease = Utc::now() + Duration::minutes(2);
        let keep = Utc::now() + Duration::days(14);
        let first = LocalDeliveryLedger::open(&path).unwrap();
        for key in ["realtime#ada#p1", "realtime#ada#p2", "realtime#ada#old"] {
            assert!(matches!(
                first.claim(key, lease, keep).await.unwrap(),
                Claim::Claimed { .. }
            ));
        }
        first.mark_sent("realtime#ada#p1", keep).await.unwrap();
        first
            .mark_sent("realtime#ada#old", Utc::now() - Duration::seconds(1))
            .await
            .unwrap();
        drop(first);
        // A crash mid-write leaves a torn last line.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"key\": \"realtime#ada#p3\", \"rec")
            .unwrap();
        drop(file);

        let reopened = LocalDeliveryLedger::open(&path).unwrap();
        assert_eq!(
            reopened
                .claim("realtime#ada#p1", lease, keep)
                .await
                .unwrap(),
            Claim::AlreadySent
        );
        assert!(matches!(
            reopened
                .claim("realtime#ada#p2", lease, keep)
                .await
                .unwrap(),
            Claim::InProgress { .. }
        ));
        assert!(matches!(
            reopened
                .claim("realtime#ada#old", lease, keep)
                .await
                .unwrap(),
            Claim::Claimed { .. }
        ));
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(
            lines, 3,
            "p1, p2 and the new claim of old; the torn line is gone"
        );
    }
}
