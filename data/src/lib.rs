//! atende-data: everything Atende keeps on disk.
//!
//! One [`Store`] owns one sled database in the data directory, with one tree per record
//! kind plus the indexes the list views need (see docs/ARCHITECTURE.md, "Storage"). Values are
//! MessagePack with named fields, so records can grow fields with `#[serde(default)]`;
//! keys are big-endian integers and byte-joined tuples so that range scans come back in
//! order.
//!
//! Threads: sled runs its own background flusher; the store adds one group-commit thread
//! (`atende-flusher`) that turns many "make this durable" requests into one `flush`, and
//! applies the writes handed to [`Store::commit_grouped`] as one group before it. Both end
//! when the last clone of the [`Store`] is dropped. A [`Write`] lands whole, even across a
//! crash (write.rs). Every method here is synchronous and cheap (point reads and small
//! writes) except [`Store::durable`] and
//! [`Store::commit_grouped`], which wait for that thread without blocking the caller's.

mod backup;
mod campaigns;
mod chats;
mod contact_book;
mod contacts;
mod erase;
mod error;
mod event_log;
mod events;
mod flusher;
mod ids;
mod integrations;
mod keys;
mod migrate;
mod numbers;
pub mod password;
pub mod phone;
pub mod records;
pub mod refusals;
pub mod reports;
mod scheduled;
pub mod search;
mod sessions;
mod store;
pub mod tokens;

mod users;
mod write;

pub use campaigns::{left_out, AudienceSize};
pub use chats::{AssigneeFilter, ChatFilter, ChatPage, Visibility};
pub use contact_book::{ContactFilter, ContactPage, ContactRow, RowOutcome};
pub use contacts::Resolved;
pub use erase::ContactExport;
pub use error::{Error, Result};
pub use ids::{
    CampaignId, ChatId, ContactId, FamilyId, MediaId, MessageId, OutboxId, ScheduledId, UserId,
};
pub use records::audit::AuditEntry;
pub use records::campaign::{
    Audience, Campaign, CampaignMark, CampaignSend, CampaignStatus, CampaignTemplate, SendCounts,
    SendState,
};
pub use records::canned::CannedResponse;
pub use records::chat::{
    Chat, ChatStatus, CsatAnswer, Direction, LastMessage, MediaRef, Message, MessageError,
    MessageStatus, PendingStatus, ReactionRef, ReplyRef, Snooze,
};
pub use records::contact::{Contact, Identity, KeyKind, OptOut, Recipient};
pub use records::event::{Event, Intent, Scope, Viewer};
pub use records::integration::{
    ApiToken, Attempt, BotRules, Delivery, DeliveryState, Subscription, TokenScope,
};
pub use records::media::{MediaRecord, MediaState};
pub use records::number::BusinessNumber;
pub use records::outbox::{OutboxEntry, OutboxKind};
pub use records::queue::Queue;
pub use records::report::DayStats;
pub use records::scheduled::{ScheduledMessage, ScheduledState};
pub use records::session::RotateOutcome;
pub use records::settings::{
    BusinessHours, CsatSettings, DayHours, FieldDef, FieldKind, Label, Settings,
};
pub use records::unprocessed::Unprocessed;
pub use records::user::{NewUser, Role, TwoFactor, User};
pub use scheduled::Due;
pub use store::{random_bytes, RawDb, Store, DEFAULT_CACHE_MB};
pub use write::Write;
