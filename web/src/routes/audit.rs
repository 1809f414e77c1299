//! The audit log: recorded by the handlers that change things, read by admins.

use actix_web::{get, web, HttpRequest, HttpResponse};
use atende_data::{AuditEntry, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::client_address;
use crate::auth::Admin;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::views::{page_cursor, page_limit, Page};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list);
}

/// Records an action done over HTTP. A failure to record fails the request: an action
/// that cannot be audited should not pass silently.
pub fn record(
    state: &AppState,
    req: &HttpRequest,
    actor: Option<UserId>,
    action: &str,
    target: Option<String>,
    detail: Option<String>,
) -> Result<()> {
    state.store.audit(AuditEntry {
        id: 0,
        at: Utc::now(),
        actor,
        action: action.to_string(),
        target,
        address: Some(client_address(req)),
        detail,
    })?;
    Ok(())
}

/// Filters of the audit log.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this user's actions.
    #[param(pattern = r"^[0-9]{1,20}$")]
    pub actor: Option<String>,
    /// Only actions starting with this, e.g. `auth.` or `chat.claimed`.
    pub action: Option<String>,
    /// Only actions at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only actions before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(pattern = r"^[0-9]{1,19}$")]
    pub cursor: Option<String>,
}

/// An audit entry.
#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub address: Option<String>,
    pub detail: Option<String>,
}

/// Audit entries, newest first (admins).
#[utoipa::path(tag = "audit", params(AuditQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<AuditView>),
))]
#[get("/audit")]
async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse> {
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let actor = match &query.actor {
        Some(raw) => Some(
            raw.parse::<UserId>()
                .map_err(|_| Error::field("actor", "is not a user id"))?,
        ),
        None => None,
    };
    let before: Option<u64> = page_cursor(query.cursor.as_deref())?;
    let keep = |e: &AuditEntry| {
        actor.is_none_or(|a| e.actor == Some(a))
            && query
                .action
                .as_ref()
                .is_none_or(|p| e.action.starts_with(p.as_str()))
            && query.from.is_none_or(|from| e.at >= from)
            && query.to.is_none_or(|to| e.at < to)
    };
    let entries = state.store.audit_entries(before, limit, keep)?;
    let next_cursor = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.id.to_string()))
        .flatten();
    let items = entries
        .into_iter()
        .map(|e| AuditView {
            id: e.id.to_string(),
            at: e.at,
            actor_id: e.actor.map(|a| a.to_string()),
            action: e.action,
            target: e.target,
            address: e.address,
            detail: e.detail,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}
