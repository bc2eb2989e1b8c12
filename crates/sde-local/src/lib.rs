//! The local stack: the sde REST and WebSocket API, the state-machine interpreter running the
//! shared definition, and embedded stand-ins for the AWS parts — a tantivy index, a folder of
//! signed-URL files, an outbox, a WebSocket hub, export slots in memory, subscriptions in a file and a
//! development token issuer.

mod aging;
mod digests;
mod files;
mod http;
mod hub;
mod ledger;
mod notifications;
mod outbox;
mod page;
mod progress;
mod push_registry;
mod slots;
mod stack;
mod subscriptions;
mod tasks;
mod workflow;
mod ws;

pub use digests::{DEFAULT_DIGEST_TIME, LocalDigests, next_run_after};
pub use hub::WsHub;
pub use ledger::LocalDeliveryLedger;
pub use notifications::{LocalNotificationQueue, NotifyParts, RetryPolicy};
pub use outbox::OutboxMailer;
pub use push_registry::MemoryPushRegistry;
pub use slots::MemoryExportSlots;
pub use stack::{
    AppState, AuthConfig, DEFINITION, IndexLayer, RunningStack, SocketLimits, StackConfig,
    StoreLayer, start,
};
pub use subscriptions::LocalSubscriptions;
pub use workflow::{EndListener, INTERRUPTED, LocalWorkflow};
