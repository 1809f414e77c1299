//! Data protection (LGPD/GDPR): a contact's data exported or erased on request, and the
//! retention sweep (also run hourly by the hub) on demand.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Admin;
use crate::error::Result;
use crate::state::AppState;
use crate::views::ErrorBody;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export).service(erase).service(sweep_now);
}

/// Everything the hub holds about a contact, as JSON (admins).
#[utoipa::path(tag = "contacts", params(("key" = String, Path, description = "the contact's id, phone (any form) or BSUID"), super::contacts::KeyQuery), security(("bearer" = [])), responses(
    (status = 200, description = "`{contact, chats, messages}`"),
))]
#[get("/contacts/{key}/export")]
async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
    path: web::Path<String>,
    key: web::Query<super::contacts::KeyQuery>,
) -> Result<HttpResponse> {
    let store = state.store.clone();
    let contact = super::contacts::any_contact(&state, &path, key.phone_number_id.as_deref())?;
    let target = contact.id.to_string();
    let data = web::block(move || store.export_contact(contact.id)).await??;
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "contact.exported",
        Some(target),
        None,
    )?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "content-disposition",
            "attachment; filename=\"contact.json\"",
        ))
        .json(data))
}

/// Erases a contact with all their chats, messages and media (admins); 409 while one of
/// their chats is not closed.
#[utoipa::path(tag = "contacts", params(("key" = String, Path, description = "the contact's id, phone (any form) or BSUID"), super::contacts::KeyQuery), security(("bearer" = [])), responses(
    (status = 204, description = "erased"),
    (status = 409, description = "a chat of the contact is still open or waiting", body = ErrorBody),
))]
#[delete("/contacts/{key}")]
async fn erase(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
    path: web::Path<String>,
    key: web::Query<super::contacts::KeyQuery>,
) -> Result<HttpResponse> {
    let contact = super::contacts::any_contact(&state, &path, key.phone_number_id.as_deref())?;
    let target = contact.id.to_string();
    let erase = atende_actors::messages::EraseContact {
        contact_id: contact.id,
    };
    let erased = state.hub.router.send(erase).await??;
    let detail = Some(format!("{erased} messages"));
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "contact.erased",
        Some(target),
        detail,
    )?;
    Ok(HttpResponse::NoContent().finish())
}

/// Runs the retention sweep now (admins): media and messages older than the settings allow.
#[utoipa::path(tag = "settings", security(("bearer" = [])), responses(
    (status = 200, description = "`{media_deleted, messages_deleted}`"),
))]
#[post("/retention/run")]
async fn sweep_now(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
) -> Result<HttpResponse> {
    let store = state.store.clone();
    let (media, messages) = web::block(move || sweep(&store)).await??;
    let detail = Some(format!("{media} media, {messages} messages"));
    super::audit::record(&state, &req, Some(auth.0.id), "retention.run", None, detail)?;
    Ok(HttpResponse::Ok().json(json!({"media_deleted": media, "messages_deleted": messages})))
}

/// How long an upload may wait to be sent before it is deleted.
const UNSENT_UPLOAD_HOURS: i64 = 24;

/// Deletes what the retention settings no longer allow to keep, and the uploads nobody
/// sent within [`UNSENT_UPLOAD_HOURS`].
pub fn sweep(store: &atende_data::Store) -> atende_data::Result<(usize, usize)> {
    let settings = store.settings()?;
    let cutoff = |days: Option<u32>| days.map(|d| Utc::now() - Duration::days(i64::from(d)));
    store.sweep_retention(
        Utc::now() - Duration::hours(UNSENT_UPLOAD_HOURS),
        cutoff(settings.retention_media_days),
        cutoff(settings.retention_message_days),
    )
}
