//! Reports: what service looked like over a date range, from the per-day counters.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use atende_data::reports::EVERYONE;
use atende_data::{ChatStatus, DayStats};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Staff;
use crate::error::Result;
use crate::state::AppState;
use crate::views::ErrorBody;

/// The longest range a report covers.
const MAX_DAYS: u64 = 400;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(summary);
}

/// The range, as dates (UTC days), both included; the last 30 days when absent. Given in
/// either order; longer than 400 days, it is the 400 days that end at the later date. The
/// answer's `from` and `to` say which days were counted.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// YYYY-MM-DD.
    pub from: Option<NaiveDate>,
    /// YYYY-MM-DD.
    pub to: Option<NaiveDate>,
}

/// One day.
#[derive(Serialize, ToSchema)]
pub struct DayView {
    pub date: NaiveDate,
    pub chats_opened: u64,
    pub chats_closed: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub csat_responses: u64,
    /// The day's average satisfaction rating (1-5).
    pub csat_average: Option<f64>,
}

/// One agent over the range.
#[derive(Serialize, ToSchema)]
pub struct AgentView {
    pub user_id: String,
    pub name: String,
    pub chats_closed: u64,
    pub messages_out: u64,
    pub avg_first_response_seconds: Option<f64>,
    pub avg_resolution_seconds: Option<f64>,
    /// Satisfaction answers about the chats the agent finished, and their average (1-5).
    pub csat_responses: u64,
    pub csat_average: Option<f64>,
}

/// One queue over the range (satisfaction, counted when the customer answers).
#[derive(Serialize, ToSchema)]
pub struct QueueView {
    pub queue_id: String,
    pub name: String,
    pub csat_responses: u64,
    pub csat_average: Option<f64>,
}

/// The summary of API.md.
#[derive(Serialize, ToSchema)]
pub struct Summary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Now, whatever the range.
    pub chats_open: usize,
    pub chats_pending: usize,
    /// Within the range.
    pub chats_closed: u64,
    pub chats_opened: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    /// From the customer's first message to the first human reply.
    pub avg_first_response_seconds: Option<f64>,
    /// From opening to closing.
    pub avg_resolution_seconds: Option<f64>,
    /// Chats closed over chats opened in the range.
    pub resolution_rate: Option<f64>,
    /// Satisfaction answers in the range, and their average rating (1-5).
    pub csat_responses: u64,
    pub csat_average: Option<f64>,
    pub per_day: Vec<DayView>,
    pub per_agent: Vec<AgentView>,
    pub per_queue: Vec<QueueView>,
}

/// The days a report counts for the range asked (see [`Range`]), `today` ending it when
/// it names no end.
fn counted_days(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    // Any date parses (years -262143 to 262142): the days are held to the years the
    // counters' keys can name, and the arithmetic saturates.
    let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    let held = |day: NaiveDate| day.clamp(first, last);
    let back = |day: NaiveDate, days| {
        held(
            day.checked_sub_days(chrono::Days::new(days))
                .unwrap_or(first),
        )
    };
    let to = held(to.unwrap_or(today));
    let from = held(from.unwrap_or(back(to, 29)));
    let (from, to) = (from.min(to), from.max(to));
    (from.max(back(to, MAX_DAYS - 1)), to)
}

fn average(total: u64, count: u64) -> Option<f64> {
    (count > 0).then(|| total as f64 / count as f64)
}

/// The summary over a date range (supervisors and admins).
#[utoipa::path(tag = "reports", params(Range), security(("bearer" = [])), responses(
    (status = 200, body = Summary),
    (status = 400, description = "a date that is not YYYY-MM-DD", body = ErrorBody),
))]
#[get("/reports/summary")]
async fn summary(
    state: web::Data<AppState>,
    _staff: Staff,
    range: web::Query<Range>,
) -> Result<HttpResponse> {
    let (from, to) = counted_days(range.from, range.to, Utc::now().date_naive());
    let store = state.store.clone();
    let (rows, queues) = web::block(move || {
        Ok::<_, atende_data::Error>((store.report_days(from, to)?, store.report_queues(from, to)?))
    })
    .await??;
    let per_queue = queues
        .into_iter()
        .map(|(id, s)| QueueView {
            name: state
                .store
                .queue(&id)
                .ok()
                .flatten()
                .map(|q| q.name)
                .unwrap_or_default(),
            queue_id: id,
            csat_responses: s.csat_responses,
            csat_average: average(s.csat_sum, s.csat_responses),
        })
        .collect();
    let mut total = DayStats::default();
    let mut days: BTreeMap<NaiveDate, DayStats> = BTreeMap::new();
    let mut agents: BTreeMap<atende_data::UserId, DayStats> = BTreeMap::new();
    for (day, user, stats) in rows {
        if user == EVERYONE {
            total.add(&stats);
            days.entry(day).or_default().add(&stats);
        } else {
            agents.entry(user).or_default().add(&stats);
        }
    }
    let per_agent = agents
        .into_iter()
        .map(|(id, s)| AgentView {
            user_id: id.to_string(),
            name: state
                .store
                .user(id)
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_default(),
            chats_closed: s.chats_closed,
            messages_out: s.messages_out,
            avg_first_response_seconds: average(s.first_response_seconds, s.first_responses),
            avg_resolution_seconds: average(s.resolution_seconds, s.resolutions),
            csat_responses: s.csat_responses,
            csat_average: average(s.csat_sum, s.csat_responses),
        })
        .collect();
    let per_day = days
        .into_iter()
        .map(|(date, s)| DayView {
            date,
            chats_opened: s.chats_opened,
            chats_closed: s.chats_closed,
            messages_in: s.messages_in,
            messages_out: s.messages_out,
            csat_responses: s.csat_responses,
            csat_average: average(s.csat_sum, s.csat_responses),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Summary {
        from,
        to,
        chats_open: state.store.count_status(ChatStatus::Open)?,
        chats_pending: state.store.count_status(ChatStatus::Pending)?,
        chats_closed: total.chats_closed,
        chats_opened: total.chats_opened,
        messages_in: total.messages_in,
        messages_out: total.messages_out,
        avg_first_response_seconds: average(total.first_response_seconds, total.first_responses),
        avg_resolution_seconds: average(total.resolution_seconds, total.resolutions),
        resolution_rate: (total.chats_opened > 0)
            .then(|| total.chats_closed as f64 / total.chats_opened as f64),
        csat_responses: total.csat_responses,
        csat_average: average(total.csat_sum, total.csat_responses),
        per_day,
        per_agent,
        per_queue,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_taken_in_either_order_and_at_most_400_days_long() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let today = day("2026-12-07");
        let cases = [
            ((None, None), ("2026-11-08", "2026-12-07")),
            (
                (Some("2026-02-01"), Some("2026-01-01")),
                ("2026-01-01", "2026-02-01"),
            ),
            ((Some("2000-01-01"), None), ("2025-11-03", "2026-12-07")),
            (
                (Some("1926-01-01"), Some("2026-01-01")),
                ("2024-11-28", "2026-01-01"),
            ),
            ((None, Some("2026-01-31")), ("2026-01-02", "2026-01-31")),
        ];
        for ((from, to), (first, last)) in cases {
            let counted = counted_days(from.map(day), to.map(day), today);
            assert_eq!(counted, (day(first), day(last)), "{from:?}..{to:?}");
        }
        // The farthest dates a query may name are held to years 1 to 9999, not a panic.
        let far = counted_days(Some(NaiveDate::MIN), Some(NaiveDate::MIN), today);
        assert_eq!(far, (day("0001-01-01"), day("0001-01-01")));
        let far = counted_days(None, Some(NaiveDate::MAX), today);
        assert_eq!(far, (day("9999-12-02"), day("9999-12-31")));
    }
}
