//! The typed messages the actors exchange, one struct per intent.

use actix::Message;
use atende_data::{
    Chat, ChatId, MediaId, MessageError, MessageId, MessageStatus, OutboxId, Role, User, UserId,
};
use serde_json::Value;

use crate::whatsapp::webhook::{InboundMessage, MessageEdit, StatusUpdate, UserIdChange};
use crate::Result;

/// Who asks for a chat command, as far as permissions go.
#[derive(Clone, Debug)]
pub struct Caller {
    pub id: UserId,
    pub role: Role,
    pub queues: Vec<String>,
}

impl From<&User> for Caller {
    fn from(user: &User) -> Self {
        Caller {
            id: user.id,
            role: user.role,
            queues: user.queue_ids.clone(),
        }
    }
}

impl Caller {
    /// Admins and supervisors act on any chat.
    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }
}

/// How an inbound message ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ingested {
    /// Stored (durably) as this message of this chat.
    Stored(Box<atende_data::Message>),
    /// Its wamid was seen before: nothing stored.
    Duplicate,
}

/// A customer's message from a webhook; answered once durably stored.
#[derive(Message)]
#[rtype(result = "Result<Ingested>")]
pub struct IngestMessage {
    pub message: InboundMessage,
}

/// A delivery status from a webhook; answered once durably applied (or kept for later).
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct IngestStatus {
    pub update: StatusUpdate,
}

/// The inbound message, appended by the chat's actor.
#[derive(Message)]
#[rtype(result = "Result<Ingested>")]
pub struct AppendInbound {
    pub chat_id: ChatId,
    pub message: InboundMessage,
    /// The customer, as the Router resolved them from the message's keys.
    pub contact: atende_data::Contact,
}

/// A customer's answer to the satisfaction survey of a finished chat, or their comment in
/// reply to the thanks that follows it: kept in that chat, which stays finished.
#[derive(Message)]
#[rtype(result = "Result<Ingested>")]
pub struct AnswerCsat {
    pub chat_id: ChatId,
    pub message: InboundMessage,
    pub answer: CsatReply,
}

/// What a survey answer says.
#[derive(Debug, Clone, PartialEq)]
pub enum CsatReply {
    /// 1 to 5.
    Rating(u8),
    Comment(String),
}

/// An edit or deletion of an earlier message from a webhook; answered once durable.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct IngestEdit {
    pub edit: MessageEdit,
}

/// Meta gave a customer a new BSUID; answered once the contact is re-keyed and durable.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct IngestUserIdChange {
    pub change: UserIdChange,
}

/// A customer stopped or resumed marketing messages; answered once their contact says
/// so durably.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct IngestPreference {
    pub change: crate::whatsapp::webhook::PreferenceChange,
}

/// An edit (`Some(text)`) or deletion (`None`) of a known message, by its chat's actor.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct ApplyEdit {
    pub chat_id: ChatId,
    pub message_id: MessageId,
    pub new_text: Option<Option<String>>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A bot gives its chat to the people: it waits in `queue_id` like any other, with the
/// bot's `note` for the agent who takes it. `by` is `None` when the hub hands over for a
/// bot that stayed silent.
#[derive(Message)]
#[rtype(result = "Result<atende_data::Chat>")]
pub struct HandOff {
    pub chat_id: ChatId,
    pub by: Option<Caller>,
    pub queue_id: Option<String>,
    pub note: Option<String>,
}

/// What an agent sends.
#[derive(Clone, Debug)]
pub enum Outgoing {
    Text {
        text: String,
        reply_to: Option<MessageId>,
    },
    Media {
        kind: String,
        media_id: MediaId,
        caption: Option<String>,
    },
    Template {
        name: String,
        language: String,
        components: Option<Value>,
    },
    /// Reply buttons, a list or a call-to-action URL button: `interactive` is the Cloud
    /// API's object, already checked; `text` its body, for previews and search.
    Interactive { interactive: Value, text: String },
    /// An emoji on a message of the chat; an empty emoji removes the reaction.
    Reaction {
        message_id: MessageId,
        emoji: String,
    },
}

/// An agent's reply: stored with its outbox entry, then sent by the outbound queue.
#[derive(Message)]
#[rtype(result = "Result<Sent>")]
pub struct SendReply {
    pub chat_id: ChatId,
    pub by: Caller,
    pub client_id: String,
    pub content: Outgoing,
    /// Kept in the message's `details` (e.g. `forwarded`: where it came from).
    pub details: Option<Value>,
}

/// The stored message, and whether this request created it (false: a repeat of the same
/// `client_id`, which sends nothing again).
#[derive(Debug)]
pub struct Sent {
    pub message: atende_data::Message,
    pub created: bool,
}

/// An internal note, shown to the team, never sent.
#[derive(Message)]
#[rtype(result = "Result<atende_data::Message>")]
pub struct AddNote {
    pub chat_id: ChatId,
    pub by: Caller,
    pub text: String,
}

/// "Assumir": assign the chat to the caller.
#[derive(Message)]
#[rtype(result = "Result<Chat>")]
pub struct ClaimChat {
    pub chat_id: ChatId,
    pub by: Caller,
}

/// Where a transfer goes.
#[derive(Clone, Debug)]
pub enum TransferTarget {
    /// To an agent, who then holds the chat.
    User(UserId),
    /// Back to a queue, pending there.
    Queue(String),
}

/// Hand the chat to someone else or to a queue.
#[derive(Message)]
#[rtype(result = "Result<Chat>")]
pub struct TransferChat {
    pub chat_id: ChatId,
    pub by: Caller,
    pub to: TransferTarget,
}

/// "Finalizar".
#[derive(Message)]
#[rtype(result = "Result<Chat>")]
pub struct CloseChat {
    pub chat_id: ChatId,
    pub by: Caller,
    pub note: Option<String>,
}

/// Reopen a closed chat, assigned to the caller.
#[derive(Message)]
#[rtype(result = "Result<Chat>")]
pub struct ReopenChat {
    pub chat_id: ChatId,
    pub by: Caller,
}

/// The caller has read the chat: unread count to zero, read receipt to WhatsApp.
#[derive(Message)]
#[rtype(result = "Result<Chat>")]
pub struct MarkChatRead {
    pub chat_id: ChatId,
    pub by: Caller,
}

/// Change tags or queue.
#[derive(Message)]
#[rtype(result = "Result<Chat>")]
pub struct UpdateChat {
    pub chat_id: ChatId,
    pub by: Caller,
    pub tags: Option<Vec<String>>,
    pub queue_id: Option<Option<String>>,
}

/// Auto-assignment hands a pending chat to an agent (ignored if no longer pending).
#[derive(Message)]
#[rtype(result = "Result<Chat>")]
pub struct AssignChat {
    pub chat_id: ChatId,
    pub user: UserId,
}

/// The holder stayed offline too long: the chat goes back to its queue (ignored if they
/// no longer hold it).
#[derive(Message)]
#[rtype(result = "Result<Chat>")]
pub struct RequeueChat {
    pub chat_id: ChatId,
    pub user: UserId,
}

/// The Cloud API took a message: record its wamid.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct RecordSent {
    pub chat_id: ChatId,
    pub message_id: MessageId,
    pub outbox_id: OutboxId,
    pub wamid: String,
}

/// The Cloud API refused a message for good.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct RecordFailed {
    pub chat_id: ChatId,
    pub message_id: MessageId,
    pub outbox_id: OutboxId,
    pub error: MessageError,
}

/// A delivery status for a known message.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct ApplyDelivery {
    pub chat_id: ChatId,
    pub message_id: MessageId,
    pub status: MessageStatus,
    pub error: Option<MessageError>,
}

/// One contact's turn in a campaign: the Router hands it to the contact's live chat, or
/// to their newest campaign chat still waiting for a reply, or to a new finished chat
/// that the reply reopens. Answered once the message, its outbox entry and the send's new
/// state are written together and durable (a send already past `queued` is left alone).
#[derive(Message, Clone)]
#[rtype(result = "Result<()>")]
pub struct SendCampaign {
    pub campaign: std::sync::Arc<atende_data::Campaign>,
    pub contact_id: atende_data::ContactId,
    /// The template's `components` with this contact's values.
    pub components: Value,
    /// The body as the customer reads it.
    pub text: String,
}

/// Put an open chat aside (`until: Some(Some(t))`: until `t`; `Some(None)`: until the
/// customer writes), or take it back (`until: None`). Only its holder or staff.
#[derive(Message)]
#[rtype(result = "Result<Chat>")]
pub struct SnoozeChat {
    pub chat_id: ChatId,
    pub by: Caller,
    pub until: Option<Option<chrono::DateTime<chrono::Utc>>>,
}

/// A snooze set to end at `until` is due: the chat comes back.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct WakeChat {
    pub chat_id: ChatId,
    pub until: chrono::DateTime<chrono::Utc>,
}

/// A line in the chat's thread for the team (what happened), e.g. a scheduled message
/// that could not go out.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct RecordActivity {
    pub chat_id: ChatId,
    pub change: &'static str,
    pub by: Option<UserId>,
    pub detail: Value,
}

/// Pins a message of the chat for the team (`pinned: false` unpins it).
#[derive(Message)]
#[rtype(result = "Result<atende_data::Message>")]
pub struct PinMessage {
    pub chat_id: ChatId,
    pub message_id: MessageId,
    pub by: Caller,
    pub pinned: bool,
}

/// Erases a contact with their chats, messages and media (all chats closed): the live
/// actors of those chats stop first, and none starts again until the erasure is done, so
/// nothing rewrites what it removes. Answers how many messages went.
#[derive(Message)]
#[rtype(result = "Result<usize>")]
pub struct EraseContact {
    pub contact_id: atende_data::ContactId,
}

/// Stops a chat actor now (its chat is being erased).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Retire;
