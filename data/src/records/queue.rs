//! Queues (departments): where pending chats wait and which agents serve them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A queue, e.g. "vendas" or "suporte".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    /// A short slug chosen by the admin.
    pub id: String,
    pub name: String,
    /// #RRGGBB, for the console.
    pub color: String,
    /// Sent when a chat enters the queue, if set.
    pub greeting: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The business numbers it serves (its customers write to them); none: every number.
    #[serde(default)]
    pub number_ids: Vec<String>,
    /// How long a customer may wait here before the supervisors' board shows the queue
    /// red (and sounds); `None`: no threshold.
    #[serde(default)]
    pub sla_wait_seconds: Option<u32>,
}

impl Queue {
    /// Whether customers of business number `number` may be served here.
    pub fn serves(&self, number: &str) -> bool {
        self.number_ids.is_empty() || self.number_ids.iter().any(|n| n == number)
    }
}
