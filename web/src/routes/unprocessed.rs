//! Webhook changes the hub could not use, kept raw (admins): listed, and replayed once
//! the hub can use them (after an upgrade, or once their business number is added).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use atende_actors::whatsapp::webhook;
use atende_data::Unprocessed;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::webhook::{process, served_numbers};
use crate::auth::Admin;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::views::{page_cursor, page_limit, Page};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list).service(replay);
}

/// A kept webhook change.
#[derive(Serialize, ToSchema)]
pub struct UnprocessedView {
    pub id: String,
    pub received_at: DateTime<Utc>,
    /// `unknown_number`, `unknown_type`, `missing_identity`, `unparseable`,
    /// `unhandled_field` or `error_report`.
    pub reason: String,
    /// What was not used, item by item.
    pub detail: Vec<String>,
    /// The change's `field` (`messages`, `history`, `account_update` ...).
    pub field: String,
    pub phone_number_id: Option<String>,
    pub entry_id: Option<String>,
    /// The change as Meta sent it: `{field, value}`.
    #[schema(value_type = Object)]
    pub raw: Value,
    pub replayed_at: Option<DateTime<Utc>>,
    /// What the last replay did.
    pub replay_outcome: Option<String>,
}

impl From<&Unprocessed> for UnprocessedView {
    fn from(u: &Unprocessed) -> Self {
        UnprocessedView {
            id: u.id.to_string(),
            received_at: u.received_at,
            reason: u.reason.clone(),
            detail: u.detail.clone(),
            field: u.field.clone(),
            phone_number_id: u.phone_number_id.clone(),
            entry_id: u.entry_id.clone(),
            raw: serde_json::from_str(&u.raw).unwrap_or(Value::Null),
            replayed_at: u.replayed_at,
            replay_outcome: u.replay_outcome.clone(),
        }
    }
}

/// Paging of the kept changes.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UnprocessedQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(pattern = r"^[0-9]{1,19}$")]
    pub cursor: Option<String>,
}

/// The kept webhook changes, newest first (admins).
#[utoipa::path(tag = "webhook", params(UnprocessedQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<UnprocessedView>),
))]
#[get("/unprocessed")]
async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<UnprocessedQuery>,
) -> Result<HttpResponse> {
    let limit = page_limit(query.limit)?;
    let before = page_cursor(query.cursor.as_deref())?;
    let mut entries = state.store.unprocessed_page(before, limit + 1)?;
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next_cursor = more
        .then(|| entries.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page {
        items: entries.iter().map(UnprocessedView::from).collect(),
        next_cursor,
    }))
}

/// Runs a kept change through the hub again (admins): what it now yields is stored
/// (messages seen before are not stored twice), and the entry records the outcome.
#[utoipa::path(tag = "webhook", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = UnprocessedView),
))]
#[post("/unprocessed/{id}/replay")]
async fn replay(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id: u64 = path.parse().map_err(|_| Error::NotFound)?;
    let mut entry = state.store.unprocessed(id)?.ok_or(Error::NotFound)?;
    let change: Value = serde_json::from_str(&entry.raw).map_err(Error::internal)?;
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": entry.entry_id, "changes": [change]}],
    });
    let serves = served_numbers(&state)?;
    let mut batch = webhook::parse_value(&body, &|number| serves.allows(number));
    let still = std::mem::take(&mut batch.unused);
    let done = process(&state, batch).await?;
    let mut outcome = format!("{} stored, {} already stored", done.stored, done.duplicates);
    if let Some(unused) = still.first() {
        outcome += &format!("; still not used: {}", unused.reason.as_str());
        entry.detail = unused.detail.clone();
    }
    entry.replayed_at = Some(Utc::now());
    entry.replay_outcome = Some(outcome);
    state.store.put_unprocessed(&entry)?;
    state.store.durable().await?;
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "webhook.replayed",
        Some(entry.id.to_string()),
        entry.replay_outcome.clone(),
    )?;
    Ok(HttpResponse::Ok().json(UnprocessedView::from(&entry)))
}
