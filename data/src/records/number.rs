//! Business numbers: the WhatsApp numbers one install answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One WhatsApp business number, as the admin configured it (the environment's number is
/// the first, made at start).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusinessNumber {
    /// Meta's phone number id (`metadata.phone_number_id`): webhooks are routed by it.
    pub id: String,
    /// What the team calls it ("Vendas SP").
    pub name: String,
    /// The number in international digits, for people and the click-to-chat link.
    pub display_number: Option<String>,
    /// Its WhatsApp Business Account, for templates.
    pub business_account_id: Option<String>,
    /// Messages per second it may send (the hub's limit when unset).
    pub rate_limit: Option<u32>,
    /// Meta's messaging limit: unique customers it may start conversations with in a
    /// rolling 24 hours (250, 1000, 10000, 100000 ...; `None`: not capped by the hub).
    /// Campaigns stop at it and go on as the 24 hours roll.
    #[serde(default)]
    pub messaging_limit: Option<u32>,
    /// Webhooks for it are taken; a disabled number's are kept as unprocessed.
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}
