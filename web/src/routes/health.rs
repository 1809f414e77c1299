//! Liveness and readiness.

use actix_web::{get, web, HttpResponse};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{Error, Result};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

/// The process runs.
#[utoipa::path(tag = "health", responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Storage answers reads and writes.
#[utoipa::path(tag = "health", responses(
    (status = 200, description = "`{\"status\":\"ready\"}`"),
    (status = 503, description = "not ready; the error message says why", body = crate::views::ErrorBody),
))]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    let store = state.store.clone();
    web::block(move || store.check())
        .await?
        .map_err(|e| Error::Unavailable(format!("storage is not working: {e}")))?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
