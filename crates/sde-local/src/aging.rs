//! [`AgingMap`]: records kept in memory with the time each was last written, so the stack can
//! forget them once the files they describe have expired (AWS keeps the same records in S3 under
//! a lifecycle rule).

use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A map from execution (ARN or export id) to a record, each stamped when last written.
#[derive(Debug)]
pub(crate) struct AgingMap<V> {
    entries: HashMap<String, (V, DateTime<Utc>)>,
}

impl<V> Default for AgingMap<V> {
    fn default() -> Self {
        AgingMap {
            entries: HashMap::new(),
        }
    }
}

impl<V> AgingMap<V> {
    /// Writes `value` under `key`, stamped now.
    pub(crate) fn insert(&mut self, key: &str, value: V) {
        self.entries.insert(key.to_owned(), (value, Utc::now()));
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(key).map(|(value, _)| value)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries
            .iter()
            .map(|(key, (value, _))| (key.as_str(), value))
    }

    /// Forgets the records last written before `cutoff`, except those `keep` names; returns
    /// how many.
    pub(crate) fn forget_written_before(
        &mut self,
        cutoff: DateTime<Utc>,
        keep: impl Fn(&str) -> bool,
    ) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|key, (_, written)| *written >= cutoff || keep(key));
        before - self.entries.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn records_written_before_the_cutoff_are_forgotten_and_later_ones_kept() {
        let mut map = AgingMap::default();
        map.insert("old", 1);
        map.insert("running", 4);
        let between = Utc::now() + Duration::milliseconds(1);
        std::thread::sleep(std::time::Duration::from_millis(5));
        map.insert("new", 2);
        map.insert("old-rewritten", 3);
        let running = |key: &str| key == "running";
        assert_eq!(map.forget_written_before(between, running), 1);
        assert_eq!(map.get("old"), None);
        assert_eq!(
            (map.get("new"), map.get("old-rewritten"), map.get("running")),
            (Some(&2), Some(&3), Some(&4))
        );
        assert_eq!(map.len(), 3);
        let later = Utc::now() + Duration::seconds(1);
        assert_eq!(map.forget_written_before(later, running), 2);
        assert_eq!(
            map.iter().map(|(key, _)| key).collect::<Vec<_>>(),
            ["running"]
        );
        assert_eq!(map.forget_written_before(later, |_| false), 1);
    }
}
