//! Canned responses (quick replies): any signed-in user reads them; admins and
//! supervisors write them.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use atende_data::CannedResponse;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::messages::MAX_TEXT;
use crate::auth::{Admin, Auth};
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{ErrorBody, Page};

/// Longest shortcut.
const MAX_SHORTCUT: usize = 32;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(update)
        .service(remove);
}

/// A quick reply as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct CannedView {
    pub id: String,
    pub shortcut: String,
    pub text: String,
    /// Reply buttons the customer can tap (the reply goes out as an interactive message).
    pub buttons: Vec<String>,
}

impl From<&CannedResponse> for CannedView {
    fn from(c: &CannedResponse) -> Self {
        CannedView {
            id: c.id.to_string(),
            shortcut: c.shortcut.clone(),
            text: c.text.clone(),
            buttons: c.buttons.clone(),
        }
    }
}

/// A new quick reply.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedBody {
    /// Letters, digits, `-` and `_`, typed after `/` (a leading `/` is taken as that).
    #[schema(pattern = r"^\s*/?[A-Za-z0-9_-]{1,32}\s*$")]
    pub shortcut: String,
    #[schema(max_length = 4096, pattern = r"\S")]
    pub text: String,
    /// Up to 3 reply buttons of up to 20 characters.
    #[serde(default)]
    #[schema(max_items = 3, value_type = Vec<crate::views::ButtonTitle>)]
    pub buttons: Vec<String>,
}

/// Changes to a quick reply.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedChange {
    #[schema(pattern = r"^\s*/?[A-Za-z0-9_-]{1,32}\s*$")]
    pub shortcut: Option<String>,
    #[schema(max_length = 4096, pattern = r"\S")]
    pub text: Option<String>,
    #[schema(max_items = 3, value_type = Option<Vec<crate::views::ButtonTitle>>)]
    pub buttons: Option<Vec<String>>,
}

/// A shortcut as stored: what the agent types after `/`, so a leading `/` (how agents
/// think of it), spaces around it and case do not count.
fn shortcut_of(raw: &str) -> String {
    raw.trim().trim_start_matches('/').to_lowercase()
}

fn check(shortcut: Option<&str>, text: Option<&str>, buttons: Option<&[String]>) -> Result<()> {
    let mut fields = Fields::default();
    if let Some(shortcut) = shortcut.map(shortcut_of) {
        let ok = !shortcut.is_empty()
            && shortcut.chars().count() <= MAX_SHORTCUT
            && shortcut
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        fields.check(ok, "shortcut", "must be 1 to 32 letters, digits, - or _");
    }
    if let Some(text) = text {
        fields.text("text", text, MAX_TEXT);
    }
    if let Some(buttons) = buttons {
        fields.check(
            buttons.len() <= 3
                && buttons
                    .iter()
                    .all(|b| (1..=20).contains(&b.trim().chars().count())),
            "buttons",
            "must be up to 3 buttons of 1 to 20 characters",
        );
        fields.check(
            buttons.is_empty() || text.is_none_or(|t| t.chars().count() <= 1024),
            "text",
            "must be at most 1024 characters with buttons",
        );
    }
    fields.finish()
}

/// The buttons as stored: trimmed, each title once (WhatsApp refuses two alike; a title
/// given twice, in any case, is the first).
fn trimmed(buttons: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for title in buttons.iter().map(|b| b.trim()) {
        if !kept
            .iter()
            .any(|k| k.to_lowercase() == title.to_lowercase())
        {
            kept.push(title.to_string());
        }
    }
    kept
}

/// Every quick reply, by shortcut.
#[utoipa::path(tag = "canned responses", security(("bearer" = [])), responses((status = 200, body = Page<CannedView>)))]
#[get("/canned-responses")]
async fn list(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(Page::whole(
        state.store.canned_responses()?.iter().map(CannedView::from),
    )))
}

/// Creates a quick reply (admins).
#[utoipa::path(tag = "canned responses", request_body = CannedBody, security(("bearer" = [])), responses(
    (status = 201, body = CannedView),
    (status = 409, description = "the shortcut is taken", body = ErrorBody),
))]
#[post("/canned-responses")]
async fn create(
    state: web::Data<AppState>,
    _admin: Admin,
    body: Json<CannedBody>,
) -> Result<HttpResponse> {
    check(
        Some(&body.0.shortcut),
        Some(&body.0.text),
        Some(&body.0.buttons),
    )?;
    let canned = CannedResponse {
        id: state.store.new_id()?,
        shortcut: shortcut_of(&body.0.shortcut),
        text: body.0.text,
        updated_at: Utc::now(),
        buttons: trimmed(body.0.buttons),
    };
    state.store.put_canned_response(&canned)?;
    state.store.durable().await?;
    Ok(HttpResponse::Created().json(CannedView::from(&canned)))
}

fn id_of(raw: &str) -> Result<u64> {
    raw.parse().map_err(|_| Error::NotFound)
}

/// Changes a quick reply (admins).
#[utoipa::path(tag = "canned responses", request_body = CannedChange, params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = CannedView),
    (status = 409, description = "the shortcut is taken", body = ErrorBody),
))]
#[patch("/canned-responses/{id}")]
async fn update(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    body: Json<CannedChange>,
) -> Result<HttpResponse> {
    check(
        body.0.shortcut.as_deref(),
        body.0.text.as_deref(),
        body.0.buttons.as_deref(),
    )?;
    let mut canned = state
        .store
        .canned_response(id_of(&path)?)?
        .ok_or(Error::NotFound)?;
    if let Some(shortcut) = body.0.shortcut {
        canned.shortcut = shortcut_of(&shortcut);
    }
    if let Some(text) = body.0.text {
        canned.text = text;
    }
    if let Some(buttons) = body.0.buttons {
        canned.buttons = trimmed(buttons);
    }
    canned.updated_at = Utc::now();
    state.store.put_canned_response(&canned)?;
    state.store.durable().await?;
    Ok(HttpResponse::Ok().json(CannedView::from(&canned)))
}

/// Deletes a quick reply (admins).
#[utoipa::path(tag = "canned responses", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "deleted"),
))]
#[delete("/canned-responses/{id}")]
async fn remove(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    if !state.store.delete_canned_response(id_of(&path)?)? {
        return Err(Error::NotFound);
    }
    state.store.durable().await?;
    Ok(HttpResponse::NoContent().finish())
}
