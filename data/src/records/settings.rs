//! The hub's settings: automatic messages, business hours, assignment and reopening.

use serde::{Deserialize, Serialize};

/// One weekday's opening hours, "HH:MM" in the settings' time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayHours {
    /// mon, tue, wed, thu, fri, sat or sun.
    pub weekday: String,
    pub open: String,
    pub close: String,
}

/// When the business answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusinessHours {
    /// An IANA time zone name, e.g. America/Sao_Paulo.
    pub timezone: String,
    pub days: Vec<DayHours>,
}

/// Everything an admin configures in the settings page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Sent on a contact's first message of a new chat; `None`: no greeting.
    pub greeting_message: Option<String>,
    /// Sent once per chat outside business hours; `None`: no away message.
    pub away_message: Option<String>,
    pub business_hours: BusinessHours,
    /// Hand pending chats to online agents automatically.
    pub auto_assign: bool,
    /// Capacity of a new agent.
    pub default_max_concurrent_chats: u32,
    /// A customer writing within this many minutes of a close reopens the same chat.
    pub reopen_window_minutes: u32,
    /// Media files older than this many days are deleted (`None`: kept).
    #[serde(default)]
    pub retention_media_days: Option<u32>,
    /// Messages of closed chats older than this many days are deleted (`None`: kept).
    #[serde(default)]
    pub retention_message_days: Option<u32>,
    /// The satisfaction survey after a chat is finished.
    #[serde(default)]
    pub csat: CsatSettings,
    /// A customer's message that is one of these (any case, accents ignored) opts them
    /// out of marketing messages, and one of `opt_in_keywords` back in.
    #[serde(default = "default_opt_out")]
    pub opt_out_keywords: Vec<String>,
    #[serde(default = "default_opt_in")]
    pub opt_in_keywords: Vec<String>,
    /// The contact book's own fields, in the order they are shown.
    #[serde(default)]
    pub contact_fields: Vec<FieldDef>,
    /// The labels chats and contacts are tagged with, and their colours.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// The roles whose users must sign in with a second factor (and enrol one before
    /// anything else).
    #[serde(default)]
    pub two_factor_roles: Vec<crate::Role>,
}

/// A label an admin defined: a tag with a colour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
}

/// A field the admin added to every contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Lower case letters, digits and `_`: a CSV column, a campaign variable
    /// (`{{field.key}}`), a filter.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    /// The choices of a `choice` field.
    #[serde(default)]
    pub options: Vec<String>,
}

/// What a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Date,
    Choice,
}

/// Longest value of a text field.
pub const MAX_FIELD_TEXT: usize = 500;

impl FieldDef {
    /// The one stored form of `raw` for this field, or why it does not fit: text trimmed,
    /// a number in plain decimal (`1.234,5` and `1234.5` alike), a date as YYYY-MM-DD
    /// (also from DD/MM/YYYY), a choice as the option it names (any case).
    pub fn normal(&self, raw: &str) -> Result<String, &'static str> {
        let raw = raw.trim();
        match self.kind {
            FieldKind::Text if raw.chars().count() > MAX_FIELD_TEXT => {
                Err("must be at most 500 characters")
            }
            FieldKind::Text => Ok(raw.to_string()),
            FieldKind::Number => number(raw).ok_or("must be a number"),
            FieldKind::Date => {
                let parsed = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .or_else(|_| chrono::NaiveDate::parse_from_str(raw, "%d/%m/%Y"));
                parsed
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .map_err(|_| "must be a date (YYYY-MM-DD or DD/MM/YYYY)")
            }
            FieldKind::Choice => self
                .options
                .iter()
                .find(|o| o.to_lowercase() == raw.to_lowercase())
                .cloned()
                .ok_or("must be one of the field's options"),
        }
    }
}

/// A number written the Brazilian way (`1.234,5`) or the plain way (`1234.5`), in plain
/// decimal.
fn number(raw: &str) -> Option<String> {
    let plain = if raw.contains(',') {
        raw.replace('.', "").replace(',', ".")
    } else {
        raw.to_string()
    };
    let value: f64 = plain.parse().ok()?;
    value.is_finite().then(|| value.to_string())
}

fn default_opt_out() -> Vec<String> {
    ["SAIR", "PARAR", "STOP"].map(String::from).to_vec()
}

fn default_opt_in() -> Vec<String> {
    vec!["VOLTAR".into()]
}

/// A keyword as compared: upper case, without accents or spaces around.
pub fn keyword(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'A',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'O',
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
            'ç' | 'Ç' => 'C',
            other => other.to_ascii_uppercase(),
        })
        .filter(|c| !matches!(c, '!' | '.'))
        .collect()
}

/// The satisfaction survey (CSAT): asked when a chat is finished, as a 1-5 list inside the
/// 24-hour window, or as the admin's approved template outside it (never free text).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsatSettings {
    pub enabled: bool,
    /// The list's question.
    pub question: String,
    /// An approved template (name, language) for chats whose window has closed; `None`:
    /// those chats are not asked.
    pub template: Option<(String, String)>,
}

impl Default for CsatSettings {
    fn default() -> Self {
        CsatSettings {
            enabled: false,
            question: "Como você avalia o nosso atendimento?".into(),
            template: None,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        let weekday = |day: &str| DayHours {
            weekday: day.into(),
            open: "08:00".into(),
            close: "18:00".into(),
        };
        Settings {
            greeting_message: None,
            away_message: None,
            business_hours: BusinessHours {
                timezone: "America/Sao_Paulo".into(),
                days: ["mon", "tue", "wed", "thu", "fri"]
                    .into_iter()
                    .map(weekday)
                    .collect(),
            },
            auto_assign: false,
            default_max_concurrent_chats: 5,
            reopen_window_minutes: 0,
            retention_media_days: None,
            retention_message_days: None,
            csat: CsatSettings::default(),
            opt_out_keywords: default_opt_out(),
            opt_in_keywords: default_opt_in(),
            contact_fields: Vec::new(),
            labels: Vec::new(),
            two_factor_roles: Vec::new(),
        }
    }
}
