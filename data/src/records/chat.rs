//! Chats, contacts and messages.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ChatId, ContactId, MediaId, MessageId, UserId};

/// How long after a customer's last message the business may write freely.
pub const SERVICE_WINDOW_HOURS: i64 = 24;

/// Where a chat is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatStatus {
    /// Waiting in a queue for an agent ("Aguardando").
    Pending,
    /// Assigned and being answered.
    Open,
    /// Finished ("Finalizado").
    Closed,
    /// Held by a bot (an integration's API token) until it hands the chat over.
    Bot,
}

impl ChatStatus {
    /// The byte that orders this status in index keys.
    pub fn code(self) -> u8 {
        match self {
            ChatStatus::Pending => 0,
            ChatStatus::Open => 1,
            ChatStatus::Closed => 2,
            ChatStatus::Bot => 3,
        }
    }

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatStatus::Pending => "pending",
            ChatStatus::Open => "open",
            ChatStatus::Closed => "closed",
            ChatStatus::Bot => "bot",
        }
    }

    /// Parses the API's name.
    pub fn parse(word: &str) -> Option<ChatStatus> {
        match word {
            "pending" => Some(ChatStatus::Pending),
            "open" => Some(ChatStatus::Open),
            "closed" => Some(ChatStatus::Closed),
            "bot" => Some(ChatStatus::Bot),
            _ => None,
        }
    }
}

/// Which way a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

/// The newest message of a chat, for list previews.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastMessage {
    pub preview: String,
    pub direction: Direction,
    #[serde(with = "super::time::compact")]
    pub at: DateTime<Utc>,
}

/// A conversation with one contact on one business number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    pub id: ChatId,
    /// The customer's phone as schema 2 kept it; empty since (see `contact_id`). Kept in
    /// its place because chats are stored with their fields in order.
    #[serde(rename = "wa_id", default)]
    pub legacy_wa_id: String,
    pub phone_number_id: String,
    pub status: ChatStatus,
    pub assignee: Option<UserId>,
    pub queue_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub unread_count: u32,
    pub last_message: Option<LastMessage>,
    /// The customer's last message: the 24-hour window runs from here.
    #[serde(default, with = "super::time::compact_opt")]
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// When the chat last entered the queue; pending chats are served oldest first.
    #[serde(default, with = "super::time::compact_opt")]
    pub pending_since: Option<DateTime<Utc>>,
    /// The first reply by a person (for reports).
    #[serde(default, with = "super::time::compact_opt")]
    pub first_response_at: Option<DateTime<Utc>>,
    #[serde(with = "super::time::compact")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "super::time::compact")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, with = "super::time::compact_opt")]
    pub closed_at: Option<DateTime<Utc>>,
    pub close_note: Option<String>,
    /// The newest customer message a read receipt went out for.
    #[serde(default)]
    pub read_receipt_wamid: Option<String>,
    /// When the away message went out (it goes once per chat).
    #[serde(default, with = "super::time::compact_opt")]
    pub away_sent_at: Option<DateTime<Utc>>,
    /// The greeting offered the queues as a numbered menu.
    #[serde(default)]
    pub menu_offered: bool,
    /// The customer (schema 3; a chat of schema 2 gets it in the upgrade).
    #[serde(default)]
    pub contact_id: ContactId,
    /// The bot (API token) holding the chat while its status is `Bot`; afterwards the bot
    /// that last held it.
    #[serde(default)]
    pub bot_id: Option<UserId>,
    /// When the satisfaction survey went out, after the close.
    #[serde(default, with = "super::time::compact_opt")]
    pub csat_asked_at: Option<DateTime<Utc>>,
    /// The customer's answer to it.
    #[serde(default)]
    pub csat: Option<CsatAnswer>,
    /// A campaign message waits for the customer's reply here.
    #[serde(default)]
    pub campaign: Option<super::campaign::CampaignMark>,
    /// Put aside by its agent until a time or the customer's next message.
    #[serde(default)]
    pub snooze: Option<Snooze>,
}

/// A chat put aside: out of its agent's list until `until` (or, without one, until the
/// customer writes); the customer's message always ends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snooze {
    #[serde(default, with = "super::time::compact_opt")]
    pub until: Option<DateTime<Utc>>,
    pub by: UserId,
    #[serde(with = "super::time::compact")]
    pub at: DateTime<Utc>,
}

/// A customer's satisfaction answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsatAnswer {
    /// 1 (bad) to 5 (excellent).
    pub rating: u8,
    pub comment: Option<String>,
    pub answered_at: DateTime<Utc>,
    /// The agent who held the chat when it was finished.
    pub agent: Option<UserId>,
}

impl Chat {
    /// Whether the chat is put aside at `now`.
    pub fn snoozed(&self, now: DateTime<Utc>) -> bool {
        self.snooze
            .as_ref()
            .is_some_and(|s| s.until.is_none_or(|until| until > now))
    }

    /// A new pending chat for a contact's first message.
    pub fn new(id: ChatId, contact: ContactId, phone_number_id: &str, now: DateTime<Utc>) -> Chat {
        Chat {
            id,
            legacy_wa_id: String::new(),
            phone_number_id: phone_number_id.to_string(),
            status: ChatStatus::Pending,
            assignee: None,
            queue_id: None,
            tags: Vec::new(),
            unread_count: 0,
            last_message: None,
            last_inbound_at: None,
            pending_since: Some(now),
            first_response_at: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
            close_note: None,
            read_receipt_wamid: None,
            away_sent_at: None,
            menu_offered: false,
            contact_id: contact,
            bot_id: None,
            csat_asked_at: None,
            csat: None,
            campaign: None,
            snooze: None,
        }
    }

    /// The end of the 24-hour customer-service window, if the customer ever wrote.
    pub fn window_expires_at(&self) -> Option<DateTime<Utc>> {
        self.last_inbound_at
            .map(|at| at + Duration::hours(SERVICE_WINDOW_HOURS))
    }

    /// Whether free-form messages may be sent at `now`.
    pub fn window_open(&self, now: DateTime<Utc>) -> bool {
        self.window_expires_at().is_some_and(|end| now < end)
    }

    /// The time that orders this chat in its status list: queue entry for pending chats
    /// (first come, first served), last activity otherwise.
    pub fn index_time(&self) -> DateTime<Utc> {
        match self.status {
            ChatStatus::Pending => self.pending_since.unwrap_or(self.updated_at),
            _ => self.updated_at,
        }
    }
}

/// Where a message is on its way; the order is the order of progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Received,
    Queued,
    Sent,
    Delivered,
    Read,
    Played,
    Failed,
}

impl MessageStatus {
    /// Whether a status report may move a message from `self` to `next`: never backwards,
    /// and a failure only before delivery.
    pub fn may_become(self, next: MessageStatus) -> bool {
        match next {
            MessageStatus::Failed => self < MessageStatus::Delivered,
            _ => self != MessageStatus::Failed && next > self,
        }
    }
}

/// A media attachment of a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaRef {
    pub id: MediaId,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
    pub filename: Option<String>,
    /// A voice note's length, when the hub knows it (it recorded it).
    #[serde(default)]
    pub seconds: Option<u32>,
}

/// The message a reply quotes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyRef {
    /// Ours, when the quoted message is known to the hub.
    pub message_id: Option<MessageId>,
    pub wamid: Option<String>,
}

/// A reaction: which message, which emoji (`None`: removed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReactionRef {
    pub wamid: String,
    pub emoji: Option<String>,
}

/// An error Meta reported for a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageError {
    pub code: i64,
    pub title: String,
}

/// One message of a chat: inbound, outbound, internal note or system line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub wamid: Option<String>,
    pub direction: Direction,
    /// The API's `type`: text, image, ..., note, system.
    pub kind: String,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub media: Option<MediaRef>,
    pub location: Option<Value>,
    pub reply_to: Option<ReplyRef>,
    pub reaction: Option<ReactionRef>,
    pub status: MessageStatus,
    pub error: Option<MessageError>,
    pub author_id: Option<UserId>,
    pub client_id: Option<String>,
    /// Type-specific content kept as WhatsApp sent it (contacts, interactive, template ...).
    pub details: Option<Value>,
    #[serde(with = "super::time::compact")]
    pub created_at: DateTime<Utc>,
    /// When it happened on WhatsApp (the webhook's timestamp), else when the hub made it.
    #[serde(with = "super::time::compact")]
    pub timestamp: DateTime<Utc>,
}

impl Message {
    /// A message of `kind` made `now`, with nothing in it yet.
    pub fn new(
        id: MessageId,
        chat_id: ChatId,
        direction: Direction,
        kind: &str,
        status: MessageStatus,
        now: DateTime<Utc>,
    ) -> Message {
        Message {
            id,
            chat_id,
            wamid: None,
            direction,
            kind: kind.into(),
            text: None,
            caption: None,
            media: None,
            location: None,
            reply_to: None,
            reaction: None,
            status,
            error: None,
            author_id: None,
            client_id: None,
            details: None,
            created_at: now,
            timestamp: now,
        }
    }

    /// A short text for list previews and notifications.
    /// What a chat row shows of it: the text; for media `[kind]`, followed by the caption
    /// or a document's file name (the console puts the kind's icon or name first).
    pub fn preview(&self) -> String {
        const MAX: usize = 100;
        let media = matches!(
            self.kind.as_str(),
            "image" | "video" | "audio" | "document" | "sticker"
        );
        let filename = self.media.as_ref().and_then(|m| m.filename.as_deref());
        let text = match (media, self.text.as_deref().or(self.caption.as_deref())) {
            (false, Some(text)) => text.to_string(),
            (true, Some(caption)) => format!("[{}] {caption}", self.kind),
            (true, None) if self.kind == "document" && filename.is_some() => {
                format!("[document] {}", filename.unwrap_or_default())
            }
            (true, None) if self.media.as_ref().is_some_and(|m| m.seconds.is_some()) => {
                let s = self.media.as_ref().and_then(|m| m.seconds).unwrap_or(0);
                format!("[{}] {}:{:02}", self.kind, s / 60, s % 60)
            }
            _ => format!("[{}]", self.kind),
        };
        text.chars().take(MAX).collect()
    }
}

/// A delivery status that arrived before the hub knew which message it is about (the
/// webhook beat the send response); applied when the wamid is recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingStatus {
    pub status: MessageStatus,
    pub error: Option<MessageError>,
    #[serde(with = "super::time::compact")]
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(
        kind: &str,
        text: Option<&str>,
        caption: Option<&str>,
        file: Option<&str>,
    ) -> Message {
        let new = Message::new(
            MessageId(1),
            ChatId(1),
            Direction::In,
            kind,
            MessageStatus::Received,
            Utc::now(),
        );
        Message {
            text: text.map(Into::into),
            caption: caption.map(Into::into),
            media: file.map(|f| MediaRef {
                id: crate::MediaId(2),
                mime_type: None,
                size: None,
                filename: Some(f.into()),
                seconds: None,
            }),
            ..new
        }
    }

    #[test]
    fn a_preview_says_what_a_media_message_is() {
        assert_eq!(message("text", Some("oi"), None, None).preview(), "oi");
        assert_eq!(message("image", None, None, None).preview(), "[image]");
        assert_eq!(
            message("image", None, Some("Tem em azul?"), None).preview(),
            "[image] Tem em azul?"
        );
        assert_eq!(
            message("document", None, None, Some("boleto.pdf")).preview(),
            "[document] boleto.pdf"
        );
        assert_eq!(
            message("location", None, None, None).preview(),
            "[location]"
        );
    }
}
