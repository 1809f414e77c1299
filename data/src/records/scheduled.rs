//! Messages an agent wrote for later: sent at their time if the 24-hour window is open,
//! else as the template the agent picked, else not at all (and said so).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ChatId, MessageId, ScheduledId, UserId};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledMessage {
    pub id: ScheduledId,
    pub chat_id: ChatId,
    /// Who wrote it: it goes out as theirs, if they may still write to the chat.
    pub by: UserId,
    pub text: String,
    /// Sent instead of the text when the window has closed: (name, language, components).
    pub template: Option<(String, String, Option<Value>)>,
    #[serde(with = "super::time::compact")]
    pub send_at: DateTime<Utc>,
    pub state: ScheduledState,
    /// Why it did not go out.
    pub reason: Option<String>,
    /// The message that carried it.
    pub message_id: Option<MessageId>,
    #[serde(with = "super::time::compact")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "super::time::compact")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduledState {
    Pending,
    Sent,
    Failed,
    Cancelled,
}

impl ScheduledState {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduledState::Pending => "pending",
            ScheduledState::Sent => "sent",
            ScheduledState::Failed => "failed",
            ScheduledState::Cancelled => "cancelled",
        }
    }
}
