//! The outbox: sends and read receipts waiting for the Cloud API, written in the same
//! transaction as the message they carry, removed when the API has taken them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ChatId, MediaId, MessageId, OutboxId};

/// What to ask of the Cloud API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxKind {
    /// POST /{number}/messages with `body`; when `upload` is set, the file is uploaded
    /// first and its Cloud API id put into the body.
    Send {
        body: Value,
        upload: Option<MediaId>,
    },
    /// Mark the customer's message `wamid` (and all before it) read.
    MarkRead { wamid: String },
}

/// One pending request to the Cloud API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: OutboxId,
    /// The business number (phone number id) that sends it.
    pub number: String,
    pub chat_id: ChatId,
    /// The message this sends (none for read receipts).
    pub message_id: Option<MessageId>,
    pub kind: OutboxKind,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// Set (durably) just before a send leaves for the Cloud API, cleared when an attempt
    /// surely did not reach it. An entry found with it set after a crash, or after a
    /// request whose answer was lost, may have gone out already.
    #[serde(default)]
    pub dispatched: bool,
}
