//! The business's approved message templates (for writing outside the 24-hour window).

use actix_web::{get, web, HttpResponse};
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::views::{ErrorBody, Page};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_templates);
}

/// Approved templates as the Cloud API describes them (name, language, components ...).
#[utoipa::path(tag = "messages", security(("bearer" = [])), responses(
    (status = 200, body = Page<Object>),
    (status = 503, description = "the Cloud API cannot be reached and nothing is cached", body = ErrorBody),
))]
#[get("/templates")]
async fn list_templates(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse> {
    let templates = state
        .hub
        .templates()
        .await
        .map_err(|e| Error::Unavailable(format!("the template list cannot be fetched: {e}")))?;
    let items: Vec<Value> = templates
        .into_iter()
        .filter(|t| {
            t["status"]
                .as_str()
                .is_none_or(|s| s.eq_ignore_ascii_case("approved"))
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page::whole(items)))
}
