//! The Cloud API webhook envelope, parsed leniently into what the hub acts on.
//!
//! Meta posts `{"object":"whatsapp_business_account","entry":[{"id","changes":[{"field",
//! "value"}]}]}`. A `messages` change carries inbound `messages` (with `contacts` and
//! `metadata`), `statuses` of outbound messages, and `errors`. Other change kinds
//! (template, account, call updates ...) are accepted and only described for the log.
//! Nothing unknown is a reason to reject: a field of the wrong type drops that one item
//! (described in `skipped`), never the whole body. Ids and profile names longer than
//! Meta's ever are (256 bytes) read as absent, so that a body cannot multiply itself in
//! memory through the copies every item keeps.

mod envelope;
mod fields;
#[cfg(test)]
mod fuzz;
mod message;
#[cfg(test)]
mod tests;

pub use atende_data::Identity;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Everything one webhook body asks the hub to do.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WebhookBatch {
    /// Inbound customer messages, in body order.
    pub messages: Vec<InboundMessage>,
    /// Delivery statuses of messages the hub sent, in body order.
    pub statuses: Vec<StatusUpdate>,
    /// Webhook-level errors Meta reported (`value.errors`).
    pub errors: Vec<CloudError>,
    /// Edits and deletions of earlier messages, in body order.
    pub edits: Vec<MessageEdit>,
    /// BSUIDs Meta changed (`user_id_update`, or a `user_changed_user_id` system message).
    pub user_id_changes: Vec<UserIdChange>,
    /// Customers who stopped or resumed marketing messages (`user_preferences`).
    pub preferences: Vec<PreferenceChange>,
    /// One line per change or item accepted but not acted on (other change kinds,
    /// malformed items), for the log. Never holds message text or numbers.
    pub skipped: Vec<String>,
    /// The changes that gave nothing to act on, or not all: kept raw with their reason.
    pub unused: Vec<UnusedChange>,
}

/// A webhook change the hub could not (wholly) use, as Meta sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct UnusedChange {
    pub reason: Reason,
    /// The skipped lines of this change (safe for the log).
    pub detail: Vec<String>,
    pub field: String,
    pub phone_number_id: Option<String>,
    pub entry_id: Option<String>,
    /// `{"field", "value"}` exactly as received.
    pub raw: Value,
}

/// Why a change was not (wholly) used; `as_str` is the stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A message or status of a type this version does not know.
    UnknownType,
    /// A message without `from` or `from_user_id`.
    MissingIdentity,
    /// A part that is not what the Cloud API sends.
    Unparseable,
    /// A change field this version does not act on (account, template, call updates ...).
    UnhandledField,
    /// A business number the hub does not serve (decided by the caller).
    UnknownNumber,
    /// A change that only reports errors of the Cloud API.
    ErrorReport,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::UnknownType => "unknown_type",
            Reason::MissingIdentity => "missing_identity",
            Reason::Unparseable => "unparseable",
            Reason::UnhandledField => "unhandled_field",
            Reason::UnknownNumber => "unknown_number",
            Reason::ErrorReport => "error_report",
        }
    }
}

/// Where a message in a webhook came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The customer wrote it now.
    Customer,
    /// The business sent it from the WhatsApp Business app (`smb_message_echoes`).
    BusinessApp,
    /// An earlier message imported from the Business app (`history`); `from_business`:
    /// the business wrote it.
    History { from_business: bool },
}

impl Origin {
    /// Whether the business sent it (an outgoing message).
    pub fn outgoing(self) -> bool {
        matches!(
            self,
            Origin::BusinessApp
                | Origin::History {
                    from_business: true
                }
        )
    }
}

/// A customer (or the business, from its phone) changed or deleted an earlier message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageEdit {
    pub phone_number_id: String,
    pub identity: Identity,
    /// The edit's own id.
    pub wamid: String,
    /// The wamid of the message changed.
    pub original_wamid: String,
    pub timestamp: Option<DateTime<Utc>>,
    /// `None`: deleted ("revoke"); else the new text (or caption).
    pub new_text: Option<Option<String>>,
}

/// Meta gave a customer a new BSUID.
#[derive(Debug, Clone, PartialEq)]
pub struct UserIdChange {
    pub phone_number_id: String,
    pub previous: String,
    pub current: String,
    pub wa_id: Option<String>,
}

/// A customer stopped, resumed or signed up for a business's marketing messages
/// (`user_preferences`, category `marketing_messages`).
#[derive(Debug, Clone, PartialEq)]
pub struct PreferenceChange {
    pub phone_number_id: String,
    pub identity: Identity,
    /// False for `stop`; true for `resume` and `signup`.
    pub wants_marketing: bool,
    pub at: DateTime<Utc>,
}

/// A message a customer sent to a business number.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// The business number's id (`metadata.phone_number_id`).
    pub phone_number_id: String,
    /// Who the customer is: phone (`from`), BSUID (`from_user_id`) and their profile
    /// from the matching `contacts[]` entry.
    pub identity: Identity,
    /// A customer's message, or the business's own from its phone app.
    pub origin: Origin,
    /// The message's `id` (wamid): the dedupe key.
    pub wamid: String,
    /// `timestamp` (Unix seconds as a string); absent, unparsable or absurd (before 2009
    /// or more than a day in the future) gives `None`, and the hub uses its own clock.
    pub timestamp: Option<DateTime<Utc>>,
    pub kind: MessageKind,
    /// Text for people: the text body, a button's or list row's title, an emoji
    /// reaction, a system message's body, a contact card's formatted name, an order's
    /// note. `None` when the type has none.
    pub text: Option<String>,
    /// Caption of image, video or document.
    pub caption: Option<String>,
    pub media: Option<InboundMedia>,
    pub location: Option<Location>,
    /// The reaction's target and emoji (`None` emoji: the reaction was removed).
    pub reaction: Option<Reaction>,
    /// `context.id`: the wamid of the message this one replies to.
    pub reply_to: Option<String>,
    /// `context.forwarded` or `context.frequently_forwarded`.
    pub forwarded: bool,
    /// Type-specific details kept as Meta sent them: `contacts` array, `interactive`
    /// object, `button` object, `order` object, `system` object, `referral` object (ads),
    /// the original `type` string for `unsupported`. A JSON object keyed by those names.
    pub details: Option<Value>,
    /// Errors attached to the message (e.g. unsupported message types).
    pub errors: Vec<CloudError>,
}

impl InboundMessage {
    /// The customer's key within its business number (BSUID, else phone): one
    /// customer's messages are stored in order.
    pub fn sender(&self) -> &str {
        let id = &self.identity;
        id.user_id.as_deref().or(id.wa_id.as_deref()).unwrap_or("")
    }
}

/// What kind of message it is; `as_str` gives the API's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Text,
    Image,
    Audio,
    Video,
    Document,
    Sticker,
    Location,
    Contacts,
    Interactive,
    Button,
    Reaction,
    Order,
    System,
    Unsupported,
}

impl MessageKind {
    /// The API's name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::Audio => "audio",
            MessageKind::Video => "video",
            MessageKind::Document => "document",
            MessageKind::Sticker => "sticker",
            MessageKind::Location => "location",
            MessageKind::Contacts => "contacts",
            MessageKind::Interactive => "interactive",
            MessageKind::Button => "button",
            MessageKind::Reaction => "reaction",
            MessageKind::Order => "order",
            MessageKind::System => "system",
            MessageKind::Unsupported => "unsupported",
        }
    }
}

/// A media attachment as announced by the webhook (bytes are fetched separately).
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMedia {
    /// Meta's media id, used to ask for a download URL.
    pub id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    /// Documents carry a file name.
    pub filename: Option<String>,
    /// An audio recorded as a voice note.
    pub voice: bool,
    /// An animated sticker.
    pub animated: bool,
}

/// A shared location.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
    pub url: Option<String>,
}

/// A reaction to an earlier message.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    /// wamid of the message reacted to.
    pub message_id: String,
    /// `None` when the reaction was removed (absent or empty emoji).
    pub emoji: Option<String>,
}

/// A delivery status of an outbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub phone_number_id: String,
    /// wamid of the outbound message.
    pub wamid: String,
    pub status: DeliveryStatus,
    pub timestamp: Option<DateTime<Utc>>,
    /// The customer's wa_id (`recipient_id`).
    pub recipient_id: Option<String>,
    /// The customer's BSUID (`recipient_user_id`), when the send went to one.
    pub recipient_user_id: Option<String>,
    /// For `failed`: Meta's errors.
    pub errors: Vec<CloudError>,
    /// The `biz_opaque_callback_data` the send carried.
    pub callback_data: Option<String>,
}

/// Where an outbound message is on its way; ordered, so a status never moves back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Played,
    Failed,
}

impl DeliveryStatus {
    /// Parses Meta's status word; unknown words give `None`.
    pub fn parse(word: &str) -> Option<DeliveryStatus> {
        Some(match word {
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "played" => DeliveryStatus::Played,
            "failed" => DeliveryStatus::Failed,
            _ => return None,
        })
    }
}

/// An error as the Cloud API reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CloudError {
    pub code: i64,
    pub title: String,
    /// `message` or `error_data.details`, when given.
    pub details: Option<String>,
}

/// The body is not JSON at all (the only reason to refuse a webhook body).
#[derive(Debug, thiserror::Error)]
#[error("the webhook body is not JSON")]
pub struct NotJson;

/// Parses a webhook body. Fails only when the body is not JSON; any JSON value is
/// accepted, and what cannot be used is described in `skipped`.
pub fn parse(body: &[u8]) -> Result<WebhookBatch, NotJson> {
    parse_for(body, &|_| true)
}

/// Parses a webhook body for the business numbers `serves` accepts: a change for any
/// other number is kept whole as unused (`unknown_number`).
pub fn parse_for(body: &[u8], serves: &dyn Fn(&str) -> bool) -> Result<WebhookBatch, NotJson> {
    let root: Value = serde_json::from_slice(body).map_err(|_| NotJson)?;
    Ok(parse_value(&root, serves))
}

/// Reads an already parsed body (a kept change, replayed).
pub fn parse_value(root: &Value, serves: &dyn Fn(&str) -> bool) -> WebhookBatch {
    let mut batch = WebhookBatch::default();
    envelope::read(root, Utc::now(), serves, &mut batch);
    batch
}
