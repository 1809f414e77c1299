//! The event log: every change agents see, numbered, kept for a retention window so that a
//! reconnecting browser can be told exactly what it missed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::UserId;

/// Who may see an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// Every signed-in user (presence).
    Everyone,
    /// Admins and supervisors (queue statistics).
    Staff,
    /// A chat's event: staff, the listed users (its holder), and the agents
    /// of the queues it waited in (`None`: a chat in no queue, any agent).
    Chat {
        users: Vec<UserId>,
        pending_in: Vec<Option<String>>,
    },
    /// Who could see `before` and cannot see `after`: the people a change took a chat
    /// from (its `chat.hidden`; never staff, who see every chat).
    Left {
        before: Box<Scope>,
        after: Box<Scope>,
    },
}

/// What a viewer is, for [`Scope::allows`].
#[derive(Clone, Debug, PartialEq)]
pub struct Viewer {
    pub user: UserId,
    pub staff: bool,
    pub queues: Vec<String>,
}

impl Viewer {
    /// Who sees every event (the webhook dispatcher, start-up's look at the log).
    pub fn everything() -> Viewer {
        Viewer {
            user: UserId(0),
            staff: true,
            queues: Vec::new(),
        }
    }
}

impl Scope {
    /// Whether `viewer` may see an event of this scope.
    pub fn allows(&self, viewer: &Viewer) -> bool {
        match self {
            Scope::Everyone => true,
            Scope::Staff => viewer.staff,
            Scope::Chat { users, pending_in } => {
                viewer.staff
                    || users.contains(&viewer.user)
                    || pending_in
                        .iter()
                        .any(|queue| queue.as_ref().is_none_or(|q| viewer.queues.contains(q)))
            }
            Scope::Left { before, after } => before.allows(viewer) && !after.allows(viewer),
        }
    }
}

/// One logged event; `data` is the JSON the browser receives, rendered once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub name: String,
    pub data: String,
    pub scope: Scope,
    pub at: DateTime<Utc>,
    /// The message a message event is of (absent in events logged before 2026-12-07).
    #[serde(default)]
    pub message_id: Option<crate::MessageId>,
    /// The [`Intent`] its change's write carried, if webhooks were subscribed then.
    #[serde(default)]
    pub intent: Option<u64>,
}

/// An event promised to the outgoing webhooks, written in the same [`crate::Write`] as the
/// change it reports and removed once the dispatcher has made its deliveries. One that a
/// crash left behind is published again at the next start, from what the store holds then
/// (docs/ARCHITECTURE.md, "Outgoing webhooks").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub name: String,
    /// A chat event's change (claimed, closed ...).
    #[serde(default)]
    pub change: Option<String>,
    #[serde(default)]
    pub chat_id: Option<crate::ChatId>,
    #[serde(default)]
    pub message_id: Option<crate::MessageId>,
    #[serde(default)]
    pub contact_id: Option<crate::ContactId>,
    /// An event whose data is not a record's (`csat.answered`): its JSON.
    #[serde(default)]
    pub data: Option<String>,
}

impl Event {
    /// The WebSocket frame of this event.
    pub fn frame(&self) -> String {
        format!(
            r#"{{"type":"event","seq":{},"event":"{}","data":{}}}"#,
            self.seq, self.name, self.data
        )
    }
}
