//! Campaigns: one approved template sent to an audience of contacts from one business
//! number, each contact at most once, with the progress of every send.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::records::contact::Contact;
use crate::{CampaignId, ChatId, ContactId, MessageId, UserId};

/// A campaign, from draft to done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub name: String,
    /// The business number (phone number id) it sends from.
    pub phone_number_id: String,
    pub template: CampaignTemplate,
    /// The template body's parameters in order, each a text in which `{{contact.name}}`,
    /// `{{contact.phone}}` and `{{field.KEY}}` stand for the contact's values, and
    /// `{{contact.name|cliente}}` gives the text to use when the value is empty.
    pub variables: Vec<String>,
    pub audience: Audience,
    /// Where the customers' replies wait for an agent (`None`: no queue).
    pub queue_id: Option<String>,
    /// When it starts by itself once started (`None`: at once).
    #[serde(default, with = "super::time::compact_opt")]
    pub start_at: Option<DateTime<Utc>>,
    /// Sends per second at most (`None`: half the number's rate, the rest is the agents').
    pub rate: Option<u32>,
    pub status: CampaignStatus,
    /// Every contact of the audience has a send record (made once it starts running).
    #[serde(default)]
    pub materialized: bool,
    /// How far the audience has been turned into send records (the last contact id).
    #[serde(default)]
    pub materialized_up_to: Option<ContactId>,
    pub created_by: UserId,
    #[serde(with = "super::time::compact")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "super::time::compact")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, with = "super::time::compact_opt")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, with = "super::time::compact_opt")]
    pub finished_at: Option<DateTime<Utc>>,
}

impl Campaign {
    /// The template's parameters for `contact`, as the Cloud API takes them
    /// (`components`), and the body as the customer reads it; or why the contact cannot
    /// get it (a variable with no value and no fallback: Meta refuses empty parameters).
    pub fn render(&self, contact: &Contact) -> Result<(Value, String), String> {
        let mut values = Vec::with_capacity(self.variables.len());
        for variable in &self.variables {
            values.push(fill(variable, contact)?);
        }
        let mut text = self.template.body.clone();
        for (i, value) in values.iter().enumerate().rev() {
            text = text.replace(&format!("{{{{{}}}}}", i + 1), value);
        }
        let components = if values.is_empty() {
            json!([])
        } else {
            let parameters: Vec<Value> = values
                .iter()
                .map(|v| json!({"type": "text", "text": v}))
                .collect();
            json!([{"type": "body", "parameters": parameters}])
        };
        Ok((components, text))
    }
}

/// One variable's text for `contact`: each `{{name}}` or `{{name|fallback}}` in it
/// replaced by the contact's value (`contact.name`, `contact.first_name`,
/// `contact.phone`, `field.KEY`).
fn fill(variable: &str, contact: &Contact) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = variable;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner = &rest[start + 2..start + end];
        let (name, fallback) = match inner.split_once('|') {
            Some((name, fallback)) => (name.trim(), Some(fallback.trim())),
            None => (inner.trim(), None),
        };
        let value = match name {
            "contact.name" => contact.name.clone().or(contact.profile_name.clone()),
            "contact.first_name" => contact
                .name
                .as_deref()
                .or(contact.profile_name.as_deref())
                .and_then(|n| n.split_whitespace().next())
                .map(String::from),
            "contact.phone" => contact.wa_id.clone(),
            other => other
                .strip_prefix("field.")
                .and_then(|key| contact.fields.get(key))
                .cloned(),
        };
        match value
            .filter(|v| !v.trim().is_empty())
            .or(fallback.map(String::from))
        {
            Some(value) => out.push_str(&value),
            None => return Err(format!("no value for {name}")),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    if out.trim().is_empty() {
        return Err("a variable is empty".into());
    }
    Ok(out)
}

/// The approved template a campaign sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignTemplate {
    pub name: String,
    pub language: String,
    /// Meta's category (MARKETING, UTILITY, AUTHENTICATION): what each send costs.
    pub category: String,
    /// The body with its `{{1}}`, `{{2}}` ... placeholders, as Meta lists it.
    pub body: String,
}

/// Who a campaign is for: contacts of its number matching every given condition, opted-out
/// contacts and contacts without a phone always left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Audience {
    /// Contacts with any of these labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Contacts whose fields hold these stored values (key, value).
    #[serde(default)]
    pub fields: Vec<(String, String)>,
    /// Only these contacts (ids), e.g. from a CSV; empty: not limited.
    #[serde(default)]
    pub contact_ids: Vec<ContactId>,
}

/// Where a campaign is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Being written; nothing is sent.
    Draft,
    /// Started, waiting for its start time.
    Scheduled,
    Running,
    /// Held by a person; resumes where it stopped.
    Paused,
    /// Every send was handed to the number's outbound queue.
    Done,
    /// Stopped for good; what was not sent stays unsent.
    Cancelled,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Scheduled => "scheduled",
            CampaignStatus::Running => "running",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Done => "done",
            CampaignStatus::Cancelled => "cancelled",
        }
    }
}

/// One contact's send of a campaign: at most one per contact (the key is the pair).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignSend {
    pub campaign_id: CampaignId,
    pub contact_id: ContactId,
    pub state: SendState,
    /// The chat and message that carry it, once written.
    pub chat_id: Option<ChatId>,
    pub message_id: Option<MessageId>,
    /// Why it failed or was left out.
    pub reason: Option<String>,
    #[serde(default, with = "super::time::compact_opt")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(with = "super::time::compact")]
    pub updated_at: DateTime<Utc>,
}

/// How far a send got; it only moves forward (in this order), or to `failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Waiting for its turn.
    Queued,
    /// Its message and outbox entry are written: it goes out exactly once from here.
    Sending,
    Sent,
    Delivered,
    Read,
    /// The customer answered.
    Replied,
    /// The Cloud API refused it (reason says why).
    Failed,
    /// Left out at its turn: opted out meanwhile, no phone, no longer a contact.
    Skipped,
}

impl SendState {
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Queued => "queued",
            SendState::Sending => "sending",
            SendState::Sent => "sent",
            SendState::Delivered => "delivered",
            SendState::Read => "read",
            SendState::Replied => "replied",
            SendState::Failed => "failed",
            SendState::Skipped => "skipped",
        }
    }

    /// Whether a send in this state may move to `next`: forward only, and never out of
    /// `failed` or `skipped`.
    pub fn may_become(self, next: SendState) -> bool {
        !matches!(self, SendState::Failed | SendState::Skipped) && next > self
    }
}

/// The sends of a campaign by how far they got; each later state counts in the earlier
/// ones too (a read send was sent and delivered).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SendCounts {
    pub total: u64,
    pub queued: u64,
    pub sending: u64,
    pub sent: u64,
    pub delivered: u64,
    pub read: u64,
    pub replied: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl SendCounts {
    pub fn add(&mut self, state: SendState) {
        self.total += 1;
        match state {
            SendState::Queued => self.queued += 1,
            SendState::Sending => self.sending += 1,
            SendState::Failed => self.failed += 1,
            SendState::Skipped => self.skipped += 1,
            reached => {
                self.sent += 1;
                self.delivered += u64::from(reached >= SendState::Delivered);
                self.read += u64::from(reached >= SendState::Read);
                self.replied += u64::from(reached == SendState::Replied);
            }
        }
    }
}

/// A chat's mark that a campaign message is its newest business-initiated message: the
/// customer's next message is that campaign's reply (and reopens a finished chat).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignMark {
    pub campaign_id: CampaignId,
    #[serde(with = "super::time::compact")]
    pub sent_at: DateTime<Utc>,
}
