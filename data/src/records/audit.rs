//! The audit log: who did what, when, from where (sign-ins, user and setting changes,
//! claims, transfers, closes ...).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::UserId;

/// One audited action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Grows with time: the log's order.
    pub id: u64,
    pub at: DateTime<Utc>,
    /// Who did it; `None` for the hub itself (auto-assignment) or an unknown account.
    pub actor: Option<UserId>,
    /// What, as `area.verb`: `auth.login`, `user.created`, `chat.claimed` ...
    pub action: String,
    /// What it was done to: a user id, a chat id, an email for failed sign-ins.
    pub target: Option<String>,
    /// The client address, when it came over HTTP.
    pub address: Option<String>,
    /// A few words more (changed fields, a transfer's destination).
    pub detail: Option<String>,
}
