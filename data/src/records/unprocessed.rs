//! Webhook entries the hub could not use: kept raw with the reason, counted, listed for
//! admins and replayable after an upgrade.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One change of a signed webhook that yielded nothing the hub acts on, or only part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unprocessed {
    /// Grows with arrival, so id order is arrival order.
    pub id: u64,
    pub received_at: DateTime<Utc>,
    /// A stable code: `unknown_number`, `unknown_type`, `missing_identity`,
    /// `unparseable`, `unhandled_field`.
    pub reason: String,
    /// What was not used, in words safe for a log (no text, no numbers).
    pub detail: Vec<String>,
    /// The change's `field` (`messages`, `history` ...).
    pub field: String,
    /// `metadata.phone_number_id`, when the change names one.
    pub phone_number_id: Option<String>,
    /// The webhook entry's id (the WhatsApp Business Account).
    pub entry_id: Option<String>,
    /// The change exactly as Meta sent it (`{"field", "value"}`), as JSON text.
    pub raw: String,
    /// The last replay, and what it did.
    pub replayed_at: Option<DateTime<Utc>>,
    pub replay_outcome: Option<String>,
}
