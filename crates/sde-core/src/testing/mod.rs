//! Contract suites: the behaviour every implementation of a core trait must show, run by each
//! implementation's own tests — the local one in unit tests, the AWS one against moto (or, where
//! moto cannot show a behaviour, against a stand-in that answers as the AWS service documents),
//! the Elasticsearch one against a fake cluster serving hand-written responses. One file per
//! trait; each file's first lines say what it proves and which implementations run it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod delivery_ledger;
pub mod export_slots;
pub mod fakes;
pub mod mailer;
pub mod object_store;
pub mod post_stats;
pub mod post_store;
pub mod progress_board;
pub mod push_channel;
pub mod push_registry;
pub mod search_index;
pub mod subscription_matcher;
pub mod subscriptions;
pub mod workflow;

pub use delivery_ledger::delivery_ledger_contract;
pub use export_slots::export_slots_contract;
pub use fakes::{MemoryLedger, MemorySubscriptions, RecordingMailer, RecordingQueue, WordMatcher};
pub use mailer::{DeliveredEmail, mailer_contract};
pub use object_store::{object_compose_contract, object_store_contract};
pub use post_store::{StoreUnderTest, new_post};
pub use progress_board::progress_board_contract;
pub use push_channel::{PushClients, push_channel_contract};
pub use push_registry::push_registry_contract;
pub use subscription_matcher::subscription_matcher_contract;
pub use subscriptions::subscriptions_contract;
pub use workflow::{
    WaitingTasks, stop_and_list_contract, task_answer_contract, waiting_definition,
    workflow_contract,
};

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A name no other run against the same (possibly shared, long-lived) store has used:
/// `prefix`, the clock in nanoseconds, and a counter. Made of the characters execution names,
/// object keys and connection ids all allow.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{nanos}-{count}")
}

/// A settings lookup (`Fn(&str) -> Option<String>`, what [`crate::settings::Settings`] reads)
/// over the `(variable, value)` pairs given, for tests of a configuration reader.
pub fn settings_lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(variable, value)| ((*variable).to_owned(), (*value).to_owned()))
        .collect();
    move |variable| map.get(variable).cloned()
}
