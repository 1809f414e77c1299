//! Canned responses (quick replies): a shortcut an agent types after `/`, and its text.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One quick reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CannedResponse {
    pub id: u64,
    /// What the agent types after `/`, e.g. `horario`.
    pub shortcut: String,
    pub text: String,
    pub updated_at: DateTime<Utc>,
    /// Reply buttons (up to 3): the reply then goes out as an interactive message.
    #[serde(default)]
    pub buttons: Vec<String>,
}
