//! The sde domain: posts, search criteria, export options, the traits every backend implements
//! (search index, post statistics, post store, object store, export slots, subscriptions and
//! their matcher, the notification queue and the delivery ledger) and the streaming export pipeline, plus what every crate's start-up shares (the [`Secret`] type, the
//! [`Settings`] reader). No cloud SDK type lives here.

pub mod criteria;
pub mod delivery;
pub mod digest;
pub mod encode;
pub mod error;
pub mod export;
pub mod fanout;
pub mod html;
pub mod index;
pub mod ledger;
pub mod links;
pub mod mail_once;
pub mod matching;
pub mod notices;
pub mod notification;
pub mod options;
pub mod owner;
pub mod post;
pub mod posting;
pub mod secret;
pub mod settings;
pub mod slots;
pub mod stats;
pub mod store;
pub mod subscription_book;
pub mod subscriptions;
#[cfg(feature = "testing")]
pub mod testing;
pub mod unsubscribe;
pub mod workflow;

pub use criteria::{
    CriteriaError, DateRange, PageRequest, PostQuery, SearchCriteria, SearchRequest,
};
pub use delivery::{
    DeliveryError, DeliveryErrorKind, EmailMessage, Mailer, PendingDelivery, PostOutcome,
    ProgressBoard, PushChannel, PushConnection, PushRegistry,
};
pub use digest::{Digest, DigestSection, MAX_DIGEST_POSTS, MatchedPost};
pub use error::{BoxError, describe_chain};
pub use export::{ExportError, ExportPlan, ExportProgress, ExportReport, WrittenFile};
pub use fanout::{
    FanOutSettings, Slice, Snapshot, export_of_slice_progress, slice_count, slice_progress_id,
};
pub use index::{IndexError, IndexErrorKind, PostScan, SearchIndex, SearchPage};
pub use ledger::{
    Claim, DeliveryLedger, LedgerError, LedgerErrorKind, LedgerRecord, daily_key, real_time_key,
};
pub use links::{DownloadGrant, DownloadLinks, SigningKey, UrlRefusal, UrlSigner};
pub use mail_once::{Dispatched, LedgerMailer, MailJob, MailOnceError, OnceMailer};
pub use matching::SubscriptionMatcher;
pub use notification::{
    DigestJob, DigestQueue, NotificationQueue, QueueError, QueueErrorKind, RealTimeJob,
};
pub use options::{Column, ExportFormat, ExportOptions, ExportOptionsRequest, OptionsError};
pub use owner::{Caller, Owner, UnverifiedEmail};
pub use post::{Post, UserId};
pub use posting::{
    MAX_POST_CHARS, MAX_TAG_CHARS, MAX_TAGS, NewPost, PostError, PostRequest, PostStore,
};
pub use secret::Secret;
pub use settings::{Settings, SettingsError, SettingsErrorKind};
pub use slots::{ExportSlots, ExportSlotsError, ExportSlotsErrorKind, Reservation};
pub use stats::{
    Bucket, BucketCount, MAX_COUNTED_TAG_CHARS, PostStats, PostSummary, TagCount, TopTags,
    fill_buckets, rank_tags,
};
pub use store::{
    ContentInfo, Disposition, MultipartUpload, ObjectKey, ObjectStore, SignedUrl, StoreError,
    StoreErrorKind, StoredObject, content_disposition,
};
pub use subscription_book::SubscriptionBook;
pub use subscriptions::{
    Added, MAX_SUBSCRIPTIONS_PER_KIND, SubscriberPage, Subscription, SubscriptionError,
    SubscriptionKind, SubscriptionRequest, SubscriptionTerm, Subscriptions, SubscriptionsError,
    SubscriptionsErrorKind,
};
pub use unsubscribe::{
    UNSUBSCRIBE_LINK_LIFETIME, UNSUBSCRIBE_ROUTE, UnsubscribeGrant, UnsubscribeLinks,
    UnsubscribeScope,
};
pub use workflow::{
    ExecutionDescription, ExecutionStatus, ExecutionSummary, Workflow, WorkflowError,
    WorkflowErrorKind, execution_arn_of,
};
