//! Integrations: API tokens, outgoing webhook subscriptions and their deliveries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::UserId;

/// What an API token may do. Users' sessions are not scoped (their role decides); a token
/// may use only the routes its scopes admit (web/src/scopes.rs lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TokenScope {
    /// Read chats, their messages and media, queues, numbers, templates, quick replies.
    #[serde(rename = "chats:read")]
    ChatsRead,
    /// Transfer, close, reopen, tag, note and mark chats read; hand a bot's chat over.
    #[serde(rename = "chats:write")]
    ChatsWrite,
    /// Send messages and upload media.
    #[serde(rename = "messages:send")]
    MessagesSend,
    /// Read contacts.
    #[serde(rename = "contacts:read")]
    ContactsRead,
    /// Change contacts.
    #[serde(rename = "contacts:write")]
    ContactsWrite,
    /// Read, make, start, pause, resume and cancel campaigns.
    #[serde(rename = "campaigns")]
    Campaigns,
    /// Everything, as an admin (each use is audited).
    #[serde(rename = "admin")]
    Admin,
}

impl TokenScope {
    pub const ALL: [TokenScope; 7] = [
        TokenScope::ChatsRead,
        TokenScope::ChatsWrite,
        TokenScope::MessagesSend,
        TokenScope::ContactsRead,
        TokenScope::ContactsWrite,
        TokenScope::Campaigns,
        TokenScope::Admin,
    ];

    /// The name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::ChatsRead => "chats:read",
            TokenScope::ChatsWrite => "chats:write",
            TokenScope::MessagesSend => "messages:send",
            TokenScope::ContactsRead => "contacts:read",
            TokenScope::ContactsWrite => "contacts:write",
            TokenScope::Campaigns => "campaigns",
            TokenScope::Admin => "admin",
        }
    }

    /// The scope named `name` (any case, spaces around ignored).
    pub fn parse(name: &str) -> Option<TokenScope> {
        let name = name.trim();
        TokenScope::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }
}

/// An API token. Its secret is shown once, when it is made; only its SHA-256 is kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    /// From the id sequence users take theirs from, so the two never meet: it stands for
    /// the token as the author of what it does.
    pub id: UserId,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    /// SHA-256 of the secret part.
    pub hash: [u8; 32],
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    /// Kept to the minute (a write per request would cost more than it tells).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Set when the token is a bot: which chats start with it, and when it must let go.
    #[serde(default)]
    pub bot: Option<BotRules>,
}

/// Where a bot takes chats, and how long it may stay silent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotRules {
    /// New chats on these business numbers start with the bot.
    pub numbers: Vec<String>,
    /// A customer who picks one of these queues from the greeting's menu goes to the bot.
    pub queues: Vec<String>,
    /// A customer's message the bot leaves unanswered this long hands the chat over.
    pub silence_timeout_secs: u32,
    /// Where a silent bot's chats go (`None`: no queue, every agent may take them).
    pub fallback_queue: Option<String>,
}

impl ApiToken {
    pub fn allows(&self, scope: TokenScope) -> bool {
        self.scopes.contains(&TokenScope::Admin) || self.scopes.contains(&scope)
    }
}

/// A URL subscribed to hub events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: u64,
    pub url: String,
    /// Event names (`message.created` ...); empty: every event.
    pub events: Vec<String>,
    /// The HMAC-SHA256 key deliveries are signed with.
    pub secret: String,
    pub description: Option<String>,
    /// Deliveries wait while it is off: turned off by an admin, or paused by the hub
    /// after failing for hours (`paused_reason` says so).
    pub active: bool,
    pub paused_reason: Option<String>,
    /// Since when every attempt failed; `None` after a success.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A bot's subscription: it receives the events of the chats that bot holds, only.
    #[serde(default)]
    pub bot_id: Option<UserId>,
}

impl Subscription {
    /// Whether it wants events named `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryState {
    /// Waiting for its first attempt or a retry.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every retry failed; only a redelivery sends it again.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

/// One try at delivering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; `None` when it could not be reached.
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The start of the response body, or why there was none.
    pub excerpt: String,
}

/// One event for one subscription. Keyed by (subscription, event number), so making it
/// again from the event log after a crash finds it made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub subscription: u64,
    /// The event's number in the event log.
    pub seq: u64,
    pub event: String,
    /// What orders it: deliveries of one chat (or contact) go one after another.
    pub order_key: String,
    /// The JSON body, exactly as signed and sent on every attempt.
    pub body: String,
    pub state: DeliveryState,
    /// Tries so far, over all redeliveries.
    pub attempts: u32,
    /// The newest tries, oldest first (a few are kept).
    pub log: Vec<Attempt>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl Delivery {
    /// The id receivers deduplicate by: the same for every attempt and redelivery.
    pub fn id(&self) -> String {
        delivery_id(self.subscription, self.seq)
    }
}

/// The public id of the delivery of event `seq` to subscription `subscription`.
pub fn delivery_id(subscription: u64, seq: u64) -> String {
    format!("{subscription}-{seq}")
}

/// The (subscription, event number) of a public delivery id.
pub fn parse_delivery_id(id: &str) -> Option<(u64, u64)> {
    let (subscription, seq) = id.split_once('-')?;
    Some((subscription.parse().ok()?, seq.parse().ok()?))
}
