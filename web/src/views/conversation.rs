//! How chats, messages and contacts look in the API.

use atende_data::{Chat, Contact, Message, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The contact as shown on a chat.
#[derive(Serialize, ToSchema)]
pub struct ChatContact {
    pub id: String,
    /// The phone number; absent for a customer known only by a username.
    pub wa_id: Option<String>,
    /// Meta's business-scoped user id (BSUID).
    pub user_id: Option<String>,
    /// The customer's WhatsApp username.
    pub username: Option<String>,
    /// The name the business gave the contact.
    pub name: Option<String>,
    /// The name the customer set in WhatsApp.
    pub profile_name: Option<String>,
}

impl ChatContact {
    fn new(id: atende_data::ContactId, contact: Option<&Contact>) -> ChatContact {
        ChatContact {
            id: id.to_string(),
            wa_id: contact.and_then(|c| c.wa_id.clone()),
            user_id: contact.and_then(|c| c.user_id.clone()),
            username: contact.and_then(|c| c.username.clone()),
            name: contact.and_then(|c| c.name.clone()),
            profile_name: contact.and_then(|c| c.profile_name.clone()),
        }
    }
}

/// The newest message of a chat.
#[derive(Serialize, ToSchema)]
pub struct LastMessageView {
    pub preview: String,
    /// in or out.
    pub direction: String,
    pub at: DateTime<Utc>,
}

/// A chat.
#[derive(Serialize, ToSchema)]
pub struct ChatView {
    pub id: String,
    pub contact: ChatContact,
    pub phone_number_id: String,
    /// pending, open, closed, or bot (held by a bot until it hands the chat over).
    #[schema(value_type = super::ChatStatusName)]
    pub status: String,
    pub assignee_id: Option<String>,
    /// The bot holding the chat (status bot), or the one that last held it.
    pub bot_id: Option<String>,
    pub queue_id: Option<String>,
    pub tags: Vec<String>,
    pub unread_count: u32,
    pub last_message: Option<LastMessageView>,
    /// End of the 24-hour customer-service window (last inbound message + 24 h).
    pub window_expires_at: Option<DateTime<Utc>>,
    /// When a waiting chat entered its queue (the wait is counted from here).
    pub pending_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_note: Option<String>,
    /// The customer's satisfaction answer, once given.
    pub csat: Option<CsatView>,
    /// Put aside by its agent: out of their list until `snoozed_until` (null: until the
    /// customer writes).
    pub snoozed: bool,
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// A satisfaction answer.
#[derive(Serialize, ToSchema)]
pub struct CsatView {
    /// 1 (bad) to 5 (excellent).
    pub rating: u8,
    pub comment: Option<String>,
    pub answered_at: DateTime<Utc>,
    /// The agent who finished the chat.
    pub agent_id: Option<String>,
}

impl ChatView {
    /// The view of `chat`, with its contact's names read from the store.
    pub fn new(chat: &Chat, store: &Store) -> ChatView {
        let contact = store.contact(chat.contact_id).ok().flatten();
        ChatView::with_contact(chat, contact.as_ref())
    }

    /// The view of `chat` whose contact is `contact` (`None`: none stored).
    pub fn with_contact(chat: &Chat, contact: Option<&Contact>) -> ChatView {
        ChatView {
            id: chat.id.to_string(),
            contact: ChatContact::new(contact.map_or(chat.contact_id, |c| c.id), contact),
            phone_number_id: chat.phone_number_id.clone(),
            status: chat.status.as_str().into(),
            assignee_id: chat.assignee.map(|u| u.to_string()),
            bot_id: chat.bot_id.map(|u| u.to_string()),
            queue_id: chat.queue_id.clone(),
            tags: chat.tags.clone(),
            unread_count: chat.unread_count,
            last_message: chat.last_message.as_ref().map(|m| LastMessageView {
                preview: m.preview.clone(),
                direction: direction(m.direction).into(),
                at: m.at,
            }),
            window_expires_at: chat.window_expires_at(),
            pending_since: chat.pending_since,
            created_at: chat.created_at,
            updated_at: chat.updated_at,
            closed_at: chat.closed_at,
            close_note: chat.close_note.clone(),
            csat: chat.csat.as_ref().map(|c| CsatView {
                rating: c.rating,
                comment: c.comment.clone(),
                answered_at: c.answered_at,
                agent_id: c.agent.map(|a| a.to_string()),
            }),
            snoozed: chat.snoozed(Utc::now()),
            snoozed_until: chat.snooze.as_ref().and_then(|s| s.until),
        }
    }
}

fn direction(d: atende_data::Direction) -> &'static str {
    match d {
        atende_data::Direction::In => "in",
        atende_data::Direction::Out => "out",
    }
}

/// A media attachment; `url` is the hub's own download address.
#[derive(Serialize, ToSchema)]
pub struct MediaView {
    pub id: String,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
    pub filename: Option<String>,
    pub url: String,
    /// The file does not match the checksum Meta announced (kept, shown flagged).
    pub unverified: bool,
}

/// The message a reply quotes.
#[derive(Serialize, ToSchema)]
pub struct ReplyView {
    pub message_id: Option<String>,
    pub wamid: Option<String>,
}

/// A reaction.
#[derive(Serialize, ToSchema)]
pub struct ReactionView {
    /// wamid of the message reacted to.
    pub message_id: String,
    /// None when the reaction was removed.
    pub emoji: Option<String>,
}

/// An error Meta reported.
#[derive(Serialize, ToSchema)]
pub struct MessageErrorView {
    pub code: i64,
    pub title: String,
}

/// A message.
#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    pub chat_id: String,
    pub wamid: Option<String>,
    /// in or out.
    pub direction: String,
    /// text, image, audio, video, document, sticker, location, contacts, interactive,
    /// button, reaction, order, template, unsupported, system or note.
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub media: Option<MediaView>,
    #[schema(value_type = Option<Object>)]
    pub location: Option<Value>,
    pub reply_to: Option<ReplyView>,
    pub reaction: Option<ReactionView>,
    /// received, queued, sent, delivered, read, played or failed.
    pub status: String,
    pub error: Option<MessageErrorView>,
    pub author_id: Option<String>,
    /// The name of an author who is not a user: the API token (a bot, an integration)
    /// that sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    pub client_id: Option<String>,
    /// Type-specific content as WhatsApp carries it (contacts, interactive, template ...).
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub timestamp: DateTime<Utc>,
}

impl MessageView {
    /// The view of `message`; media sizes come from the media record once downloaded.
    pub fn new(message: &Message, store: &Store) -> MessageView {
        let status = serde_json::to_value(message.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        MessageView {
            id: message.id.to_string(),
            chat_id: message.chat_id.to_string(),
            wamid: message.wamid.clone(),
            direction: direction(message.direction).into(),
            kind: message.kind.clone(),
            text: message.text.clone(),
            caption: message.caption.clone(),
            media: message.media.as_ref().map(|m| {
                let record = store.media(m.id).ok().flatten();
                MediaView {
                    id: m.id.to_string(),
                    mime_type: record
                        .as_ref()
                        .map(|r| r.mime_type.clone())
                        .or(m.mime_type.clone()),
                    size: record.as_ref().and_then(|r| r.size).or(m.size),
                    filename: m.filename.clone(),
                    url: format!("/api/v1/media/{}", m.id),
                    unverified: record.as_ref().is_some_and(|r| r.unverified),
                }
            }),
            location: message.location.clone(),
            reply_to: message.reply_to.as_ref().map(|r| ReplyView {
                message_id: r.message_id.map(|id| id.to_string()),
                wamid: r.wamid.clone(),
            }),
            reaction: message.reaction.as_ref().map(|r| ReactionView {
                message_id: r.wamid.clone(),
                emoji: r.emoji.clone(),
            }),
            status,
            error: message.error.as_ref().map(|e| MessageErrorView {
                code: e.code,
                title: e.title.clone(),
            }),
            author_id: message.author_id.map(|u| u.to_string()),
            author_name: message
                .author_id
                .filter(|id| matches!(store.user(*id), Ok(None)))
                .and_then(|id| store.api_token(id).ok().flatten())
                .map(|token| token.name),
            client_id: message.client_id.clone(),
            details: message.details.clone(),
            created_at: message.created_at,
            timestamp: message.timestamp,
        }
    }
}

/// A contact: a customer of one business number.
#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub id: String,
    /// The business number (phone number id) the customer writes to.
    pub phone_number_id: String,
    /// The phone number; absent for a customer known only by a username.
    pub wa_id: Option<String>,
    /// Meta's business-scoped user id (BSUID).
    pub user_id: Option<String>,
    /// The BSUID of the business portfolio's parent, when Meta gives one.
    pub parent_user_id: Option<String>,
    /// The customer's WhatsApp username.
    pub username: Option<String>,
    pub name: Option<String>,
    pub profile_name: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set while the customer wants no marketing messages: since when, and how they said
    /// so (`whatsapp`, `keyword` or `team`).
    pub marketing_opt_out: Option<OptOutView>,
    /// Since when, and how, the customer agreed to marketing messages (`import`, `team`).
    pub marketing_opt_in: Option<OptOutView>,
    /// The admin-defined fields (`GET /contact-fields`) by key: numbers as numbers, dates
    /// as YYYY-MM-DD, the rest as text.
    #[schema(value_type = Object)]
    pub fields: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A customer's "stop" to marketing messages.
#[derive(Serialize, ToSchema)]
pub struct OptOutView {
    pub at: DateTime<Utc>,
    pub source: String,
}

impl ContactView {
    /// The view of `contact`; the time of their last message is their newest chat's.
    pub fn new(c: &Contact, store: &Store) -> Self {
        let newest = store.contact_chats(c.id, 1).ok().unwrap_or_default();
        ContactView {
            id: c.id.to_string(),
            phone_number_id: c.phone_number_id.clone(),
            wa_id: c.wa_id.clone(),
            user_id: c.user_id.clone(),
            parent_user_id: c.parent_user_id.clone(),
            username: c.username.clone(),
            name: c.name.clone(),
            profile_name: c.profile_name.clone(),
            tags: c.tags.clone(),
            notes: c.notes.clone(),
            last_inbound_at: newest
                .iter()
                .filter_map(|chat| chat.last_inbound_at)
                .chain(c.last_inbound_at)
                .max(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            marketing_opt_out: c.marketing_opt_out.as_ref().map(OptOutView::from),
            marketing_opt_in: c.marketing_opt_in.as_ref().map(OptOutView::from),
            fields: typed_fields(c, store),
        }
    }
}

impl From<&atende_data::OptOut> for OptOutView {
    fn from(o: &atende_data::OptOut) -> Self {
        OptOutView {
            at: o.at,
            source: o.source.clone(),
        }
    }
}

/// A contact's fields as JSON: a number field's value as a number.
fn typed_fields(
    c: &Contact,
    store: &Store,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let defs = store.settings().ok();
    c.fields
        .iter()
        .map(|(key, value)| {
            let number = defs
                .as_ref()
                .and_then(|s| s.contact_fields.iter().find(|d| d.key == *key))
                .is_some_and(|d| d.kind == atende_data::FieldKind::Number);
            let typed = match value.parse::<f64>() {
                Ok(n) if number => serde_json::json!(n),
                _ => serde_json::Value::String(value.clone()),
            };
            (key.clone(), typed)
        })
        .collect()
}

/// The `data` of a WebSocket event, as JSON text: a chat (with what changed), a message
/// (with its chat, so a notification needs no second request), or the payload as it is.
pub fn render_event(payload: &atende_actors::events::Payload, store: &Store) -> String {
    use atende_actors::events::Payload;

    #[derive(Serialize)]
    struct ChatEvent<'a> {
        #[serde(flatten)]
        chat: ChatView,
        change: &'a str,
    }

    #[derive(Serialize)]
    struct MessageEvent {
        #[serde(flatten)]
        message: MessageView,
        chat: ChatView,
    }

    let json = match payload {
        Payload::Chat { chat, change } => serde_json::to_string(&ChatEvent {
            chat: ChatView::new(chat, store),
            change,
        }),
        Payload::Message {
            message,
            chat,
            contact,
        } => serde_json::to_string(&MessageEvent {
            message: MessageView::new(message, store),
            chat: match contact {
                Some(contact) => ChatView::with_contact(chat, Some(contact)),
                None => ChatView::new(chat, store),
            },
        }),
        Payload::Contact(contact) => serde_json::to_string(&ContactView::new(contact, store)),
        Payload::Json(value) => return value.to_string(),
    };
    // The views are plain data: serializing them cannot fail.
    json.unwrap_or_else(|_| "null".into())
}
