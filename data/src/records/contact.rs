//! Contacts: a customer of one business number, known by a phone number, a business-scoped
//! user id (BSUID), or both.
//!
//! Since 2026 a WhatsApp user may hide their phone behind a username; Meta then names them
//! to a business by a BSUID (`user_id`) and may leave the phone (`wa_id`) out. A contact is
//! found by any of its keys (the `contacts_by_key` tree); a payload that carries a phone
//! and a BSUID seen apart joins the two contacts into one, and a changed BSUID re-keys the
//! contact: the old key keeps finding it, so nothing sent under it is lost.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ContactId;

/// A customer on one business number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    /// The business number (phone number id) this customer writes to.
    pub phone_number_id: String,
    /// The phone number as Meta last sent it (sends use this form); absent for a customer
    /// known only by a username.
    pub wa_id: Option<String>,
    /// Meta's business-scoped user id (BSUID).
    pub user_id: Option<String>,
    /// The BSUID of the business portfolio's parent, when Meta gives one.
    pub parent_user_id: Option<String>,
    /// The customer's WhatsApp username.
    pub username: Option<String>,
    /// The name the business gave the contact.
    pub name: Option<String>,
    /// The name the customer set in WhatsApp.
    pub profile_name: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub notes: Option<String>,
    #[serde(default, with = "super::time::compact_opt")]
    pub last_inbound_at: Option<DateTime<Utc>>,
    #[serde(with = "super::time::compact")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "super::time::compact")]
    pub updated_at: DateTime<Utc>,
    /// Joined into this contact (it was the same person): reads follow it there.
    #[serde(default)]
    pub merged_into: Option<ContactId>,
    /// BSUIDs this contact had before Meta changed them (they still find it).
    #[serde(default)]
    pub former_user_ids: Vec<String>,
    /// Set while the customer wants no marketing messages (no campaign may reach them).
    #[serde(default)]
    pub marketing_opt_out: Option<OptOut>,
    /// When and how the customer agreed to marketing messages (an import's opt-in column,
    /// the team, or their VOLTAR), if they did.
    #[serde(default)]
    pub marketing_opt_in: Option<OptOut>,
    /// The admin-defined fields (settings' `contact_fields`), by key, each in its one
    /// stored form (settings.rs, [`crate::FieldDef::normal`]).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// A customer's "stop" (or "yes") to marketing messages: when, and how it was said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptOut {
    pub at: DateTime<Utc>,
    /// `whatsapp` (Meta's `user_preferences`), `keyword` (they wrote SAIR ...), `team`
    /// (an agent or admin set it) or `import` (a CSV's opt-in column).
    pub source: String,
}

impl Contact {
    /// A contact seen for the first time, with no keys yet.
    pub fn new(id: ContactId, phone_number_id: &str, now: DateTime<Utc>) -> Contact {
        Contact {
            id,
            phone_number_id: phone_number_id.to_string(),
            wa_id: None,
            user_id: None,
            parent_user_id: None,
            username: None,
            name: None,
            profile_name: None,
            tags: Vec::new(),
            notes: None,
            last_inbound_at: None,
            created_at: now,
            updated_at: now,
            merged_into: None,
            former_user_ids: Vec::new(),
            marketing_opt_out: None,
            marketing_opt_in: None,
            fields: BTreeMap::new(),
        }
    }

    /// What the Cloud API is told to send to: the phone when known (`to`), else the BSUID
    /// (`recipient`).
    pub fn recipient(&self) -> Option<Recipient<'_>> {
        match (&self.wa_id, &self.user_id) {
            (Some(phone), _) => Some(Recipient::Phone(phone)),
            (None, Some(user_id)) => Some(Recipient::UserId(user_id)),
            (None, None) => None,
        }
    }

    /// Every key this contact is found by: its phone (in the one form that stands for
    /// every form of the number) and its BSUIDs, old and new.
    pub fn keys(&self) -> Vec<(KeyKind, String)> {
        let mut keys = Vec::new();
        if let Some(phone) = &self.wa_id {
            keys.push((KeyKind::Phone, crate::phone::canonical(phone)));
        }
        for user_id in self.user_id.iter().chain(&self.former_user_ids) {
            keys.push((KeyKind::UserId, user_id.clone()));
        }
        keys
    }

    /// The phone, the username or the names: what to show a person first.
    pub fn display_name(&self) -> Option<&str> {
        self.name
            .as_deref()
            .or(self.profile_name.as_deref())
            .or(self.username.as_deref())
            .or(self.wa_id.as_deref())
    }
}

/// Where a send goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipient<'a> {
    /// A phone number: the Cloud API's `to`.
    Phone(&'a str),
    /// A BSUID: the Cloud API's `recipient`.
    UserId(&'a str),
}

/// The kinds of key a contact is found by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyKind {
    Phone,
    UserId,
}

impl KeyKind {
    /// The byte that starts this kind's keys in `contacts_by_key`.
    pub(crate) fn code(self) -> u8 {
        match self {
            KeyKind::Phone => 1,
            KeyKind::UserId => 2,
        }
    }
}

/// Who a webhook says a customer is: any of these may be missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// The phone number (`from`, `contacts[].wa_id`).
    pub wa_id: Option<String>,
    /// The BSUID (`from_user_id`, `contacts[].user_id`).
    pub user_id: Option<String>,
    /// `contacts[].parent_user_id`.
    pub parent_user_id: Option<String>,
    /// `contacts[].profile.username`.
    pub username: Option<String>,
    /// `contacts[].profile.name`.
    pub profile_name: Option<String>,
}

impl Identity {
    /// Whether it names anyone at all.
    pub fn is_empty(&self) -> bool {
        self.wa_id.is_none() && self.user_id.is_none()
    }
}
