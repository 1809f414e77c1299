//! The hub's settings: admins change them, supervisors read them; they apply at once.

use actix_web::{get, put, web, HttpResponse};
use atende_data::{BusinessHours, CsatSettings, DayHours, Role, Settings};
use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use atende_actors::events::UserChanged;
use atende_data::refusals::TWO_FACTOR_ENROL_FIRST;

use crate::auth::{Admin, Staff};
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{ErrorBody, RoleName};

/// Longest automatic message (WhatsApp's text limit).
const MAX_MESSAGE: usize = 4096;
/// Longest reopen window: a week.
const MAX_REOPEN_MINUTES: u32 = 7 * 24 * 60;
const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_settings).service(put_settings);
}

/// One weekday's hours.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayHoursBody {
    /// mon, tue, wed, thu, fri, sat or sun.
    #[schema(pattern = r"^(mon|tue|wed|thu|fri|sat|sun)$")]
    pub weekday: String,
    /// HH:MM, in the settings' time zone.
    #[schema(pattern = r"^\s*([01]?[0-9]|2[0-3]):[0-5][0-9]\s*$")]
    pub open: String,
    /// HH:MM, after `open` (no two spans of a day overlap).
    #[schema(pattern = r"^\s*([01]?[0-9]|2[0-3]):[0-5][0-9]\s*$")]
    pub close: String,
}

/// Business hours.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursBody {
    /// IANA time zone, e.g. America/Sao_Paulo (any case; the document lists them all).
    pub timezone: String,
    #[schema(max_items = 28)]
    pub days: Vec<DayHoursBody>,
}

/// The settings, as read and as written (whole).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Sent on a contact's first message of a new chat; null or empty for none.
    pub greeting_message: Option<String>,
    /// Sent once per chat outside business hours; null or empty for none.
    pub away_message: Option<String>,
    pub business_hours: BusinessHoursBody,
    pub auto_assign: bool,
    #[schema(minimum = 1, maximum = 100)]
    pub default_max_concurrent_chats: u32,
    #[schema(maximum = 10080)]
    pub reopen_window_minutes: u32,
    /// Media files older than this many days are deleted; null keeps them.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 36500)]
    pub retention_media_days: Option<u32>,
    /// Messages of closed chats older than this many days are deleted; null keeps them.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 36500)]
    pub retention_message_days: Option<u32>,
    /// The satisfaction survey after a close; left out of a PUT: unchanged.
    #[serde(default)]
    pub csat: Option<CsatBody>,
    /// A customer's message that is one of these words (any case, accents ignored) opts
    /// them out of marketing messages (default SAIR, PARAR, STOP); left out: unchanged.
    #[serde(default)]
    pub opt_out_keywords: Option<Vec<String>>,
    /// Words that opt them back in (default VOLTAR); left out: unchanged.
    #[serde(default)]
    pub opt_in_keywords: Option<Vec<String>>,
    /// The roles that must sign in with a second factor; their users enrol an
    /// authenticator before anything else. Left out: unchanged.
    #[serde(default)]
    #[schema(value_type = Option<Vec<RoleName>>)]
    pub two_factor_roles: Option<Vec<Role>>,
}

/// The satisfaction survey: a 1-5 list inside the 24-hour window, the template outside it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsatBody {
    pub enabled: bool,
    /// The list's question (up to 1024 characters; empty keeps the one there is).
    pub question: String,
    /// An approved template for chats whose window has closed; null: they are not asked.
    pub template: Option<CsatTemplate>,
}

/// A template by name and language.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsatTemplate {
    pub name: String,
    pub language: String,
}

impl From<Settings> for SettingsBody {
    fn from(s: Settings) -> Self {
        SettingsBody {
            greeting_message: s.greeting_message,
            away_message: s.away_message,
            business_hours: BusinessHoursBody {
                timezone: s.business_hours.timezone,
                days: s
                    .business_hours
                    .days
                    .into_iter()
                    .map(|d| DayHoursBody {
                        weekday: d.weekday,
                        open: d.open,
                        close: d.close,
                    })
                    .collect(),
            },
            auto_assign: s.auto_assign,
            default_max_concurrent_chats: s.default_max_concurrent_chats,
            reopen_window_minutes: s.reopen_window_minutes,
            retention_media_days: s.retention_media_days,
            retention_message_days: s.retention_message_days,
            csat: Some(CsatBody {
                enabled: s.csat.enabled,
                question: s.csat.question,
                template: s
                    .csat
                    .template
                    .map(|(name, language)| CsatTemplate { name, language }),
            }),
            opt_out_keywords: Some(s.opt_out_keywords),
            opt_in_keywords: Some(s.opt_in_keywords),
            two_factor_roles: Some(s.two_factor_roles),
        }
    }
}

/// The current settings.
#[utoipa::path(tag = "settings", security(("bearer" = [])), responses(
    (status = 200, body = SettingsBody),
))]
#[get("/settings")]
async fn get_settings(state: web::Data<AppState>, _staff: Staff) -> Result<HttpResponse> {
    let settings = state.store.settings()?;
    Ok(HttpResponse::Ok().json(SettingsBody::from((*settings).clone())))
}

/// Replaces the settings; they take effect at once.
#[utoipa::path(tag = "settings", request_body = SettingsBody, security(("bearer" = [])), responses(
    (status = 200, body = SettingsBody),
    (status = 409, description = "`two_factor_enrol_first`: a second factor made mandatory for the caller's own role before they have one", body = ErrorBody),
))]
#[put("/settings")]
async fn put_settings(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    auth: Admin,
    body: Json<SettingsBody>,
) -> Result<HttpResponse> {
    let current = state.store.settings()?;
    let settings = checked(body.0, &current)?;
    let binds_self = settings.two_factor_roles.contains(&auth.0.role)
        && !current.two_factor_roles.contains(&auth.0.role);
    if binds_self && !auth.0.two_factor.is_on() {
        return Err(Error::Conflict(TWO_FACTOR_ENROL_FIRST));
    }
    state.store.put_settings(&settings)?;
    state.store.durable().await?;
    close_sockets_owing_a_second_factor(&state, &current, &settings)?;
    tracing::info!(by = %auth.0.id, "settings changed");
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "settings.changed",
        None,
        None,
    )?;
    // Applied at once: switching auto-assignment on hands out the waiting chats now.
    state.hub.router.do_send(atende_actors::assign::Rebalance);
    Ok(HttpResponse::Ok().json(SettingsBody::from(settings)))
}

/// When a role must newly have a second factor, its users without one stop receiving
/// events at once: their sockets close (and cannot sign in again until they enrol), and
/// every request but enrolment is refused (`auth::step_owed`).
fn close_sockets_owing_a_second_factor(
    state: &AppState,
    before: &Settings,
    after: &Settings,
) -> Result<()> {
    let newly: Vec<Role> = after
        .two_factor_roles
        .iter()
        .filter(|role| !before.two_factor_roles.contains(role))
        .copied()
        .collect();
    if newly.is_empty() {
        return Ok(());
    }
    let mut after_id = None;
    loop {
        let page = state.store.users(after_id, 500)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after_id = Some(last.id);
        for user in page {
            if user.active && newly.contains(&user.role) && !user.two_factor.is_on() {
                state.hub.bus.do_send(UserChanged {
                    user,
                    end_sessions: true,
                });
            }
        }
    }
}

/// The settings if every rule holds, else every problem at once.
fn checked(body: SettingsBody, current: &Settings) -> Result<Settings> {
    let mut fields = Fields::default();
    for (field, message) in [
        ("greeting_message", &body.greeting_message),
        ("away_message", &body.away_message),
    ] {
        if let Some(text) = message {
            fields.check(
                text.chars().count() <= MAX_MESSAGE,
                field,
                "must be at most 4096 characters",
            );
        }
    }
    let hours = &body.business_hours;
    fields.check(
        time_zone(&hours.timezone).is_some(),
        "business_hours.timezone",
        "must be an IANA time zone such as America/Sao_Paulo",
    );
    fields.check(
        hours.days.len() <= 28,
        "business_hours.days",
        "has too many entries",
    );
    check_days(&mut fields, &hours.days);
    fields.check(
        (1..=crate::routes::users::MAX_CONCURRENT_CHATS)
            .contains(&body.default_max_concurrent_chats),
        "default_max_concurrent_chats",
        "must be between 1 and 100",
    );
    fields.check(
        body.reopen_window_minutes <= MAX_REOPEN_MINUTES,
        "reopen_window_minutes",
        "must be at most 10080 (a week)",
    );
    let retention = [
        ("retention_media_days", body.retention_media_days),
        ("retention_message_days", body.retention_message_days),
    ];
    for (field, days) in retention {
        let ok = days.is_none_or(|d| (1..=36_500).contains(&d));
        fields.check(ok, field, "must be null or 1 to 36500 days");
    }
    // An empty message is no message, as the console means it.
    let off_when_empty = |m: Option<String>| m.filter(|t| !t.trim().is_empty());
    let greeting_message = off_when_empty(body.greeting_message);
    let away_message = off_when_empty(body.away_message);
    let mut keywords = |field: &str, given: Option<Vec<String>>, now: &[String]| -> Vec<String> {
        let Some(words) = given else {
            return now.to_vec();
        };
        let words: Vec<String> = words
            .iter()
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty())
            .collect();
        fields.check(
            words.len() <= 20 && words.iter().all(|w| w.chars().count() <= 30),
            field,
            "must be up to 20 words of up to 30 characters",
        );
        words
    };
    let opt_out_keywords = keywords(
        "opt_out_keywords",
        body.opt_out_keywords,
        &current.opt_out_keywords,
    );
    let opt_in_keywords = keywords(
        "opt_in_keywords",
        body.opt_in_keywords,
        &current.opt_in_keywords,
    );
    let csat = match body.csat {
        None => current.csat.clone(),
        Some(c) => {
            // An empty question keeps the one there is; a template without a name or a
            // language is none, as a form with those left blank means.
            let question = match c.question.trim() {
                "" => current.csat.question.clone(),
                given => given.to_string(),
            };
            fields.text("csat.question", &question, 1024);
            let template = c
                .template
                .map(|t| (t.name.trim().to_string(), t.language.trim().to_string()))
                .filter(|(name, language)| !name.is_empty() && !language.is_empty());
            if let Some((name, language)) = &template {
                fields.text("csat.template.name", name, 512).text(
                    "csat.template.language",
                    language,
                    15,
                );
            }
            CsatSettings {
                enabled: c.enabled,
                question,
                template,
            }
        }
    };
    let mut two_factor_roles = body
        .two_factor_roles
        .unwrap_or_else(|| current.two_factor_roles.clone());
    two_factor_roles.sort_by_key(|role| role.as_str());
    two_factor_roles.dedup();
    fields.finish()?;
    Ok(Settings {
        greeting_message,
        away_message,
        business_hours: BusinessHours {
            timezone: time_zone(&hours.timezone)
                .map_or_else(|| hours.timezone.clone(), |zone| zone.name().to_string()),
            days: hours
                .days
                .iter()
                .map(|d| DayHours {
                    weekday: d.weekday.clone(),
                    open: hhmm(&d.open),
                    close: hhmm(&d.close),
                })
                .collect(),
        },
        auto_assign: body.auto_assign,
        default_max_concurrent_chats: body.default_max_concurrent_chats,
        reopen_window_minutes: body.reopen_window_minutes,
        retention_media_days: body.retention_media_days,
        retention_message_days: body.retention_message_days,
        csat,
        opt_out_keywords,
        opt_in_keywords,
        contact_fields: current.contact_fields.clone(),
        labels: current.labels.clone(),
        two_factor_roles,
    })
}

/// Each day known, each time HH:MM, opening before closing, no overlaps within a day.
fn check_days(fields: &mut Fields, days: &[DayHoursBody]) {
    let mut spans: Vec<(&str, NaiveTime, NaiveTime)> = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let at = |what: &str| format!("business_hours.days[{i}].{what}");
        fields.check(
            WEEKDAYS.contains(&day.weekday.as_str()),
            &at("weekday"),
            "must be mon, tue, wed, thu, fri, sat or sun",
        );
        match (clock(&day.open), clock(&day.close)) {
            (Some(open), Some(close)) if open < close => spans.push((&day.weekday, open, close)),
            (Some(_), Some(_)) => {
                fields.check(false, &at("close"), "must be after the opening time");
            }
            (open, _) => {
                fields.check(open.is_some(), &at("open"), "must be a time as HH:MM");
                fields.check(
                    clock(&day.close).is_some(),
                    &at("close"),
                    "must be a time as HH:MM",
                );
            }
        }
    }
    spans.sort();
    let overlaps = spans
        .windows(2)
        .any(|w| w[0].0 == w[1].0 && w[1].1 < w[0].2);
    fields.check(
        !overlaps,
        "business_hours.days",
        "hours of the same day overlap",
    );
}

/// The time of day `text` names as HH:MM (or H:MM, spaces around it).
fn clock(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

/// A time of day as stored: HH:MM.
fn hhmm(text: &str) -> String {
    clock(text).map_or_else(|| text.to_string(), |t| t.format("%H:%M").to_string())
}

/// The IANA time zone `name` names, in any case and with spaces around it.
fn time_zone(name: &str) -> Option<chrono_tz::Tz> {
    let name = name.trim();
    chrono_tz::TZ_VARIANTS
        .iter()
        .find(|zone| zone.name().eq_ignore_ascii_case(name))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_are_read_as_the_document_says_and_stored_as_hh_mm() {
        for (given, stored) in [("9:00", "09:00"), (" 09:30 ", "09:30"), ("23:59", "23:59")] {
            assert!(clock(given).is_some(), "{given}");
            assert_eq!(hhmm(given), stored);
        }
        for bad in ["24:00", "9", "09:60", ""] {
            assert_eq!(clock(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_time_zone_is_found_in_any_case() {
        assert_eq!(
            time_zone(" america/sao_paulo "),
            Some(chrono_tz::America::Sao_Paulo)
        );
        assert_eq!(time_zone("Mars/Olympus"), None);
    }
}
