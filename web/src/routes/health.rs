//! Liveness and readiness.

use actix_web::{get, web, HttpResponse};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{chain, Error, Result};
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

/// Storage answers reads and writes, and the actors that route and send messages run.
/// The answer also tells how many requests wait for the Cloud API, whether it fails, and
/// the last jump of the system clock.
#[utoipa::path(tag = "health", responses(
    (status = 200, description = "`{\"status\":\"ready\", \"outbox\":<requests waiting>, \"cloud_api\":\"ok\"|\"failing\", \"cloud_api_failing_since\":<time>|null, \"clock_jump\":{\"seconds\":<how far, negative when back>,\"at\":<time>}|null}` (the last step of the system clock noticed since start)"),
    (status = 503, description = "not ready; the error message says why", body = crate::views::ErrorBody),
))]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    let store = state.store.clone();
    let written = web::block(move || store.check()).await?;
    // A write is only good once it is on disk.
    let durable = match written {
        Ok(()) => state.store.durable().await,
        Err(error) => Err(error),
    };
    durable.map_err(|e| Error::Unavailable(format!("storage is not working: {}", chain(&e))))?;
    let hub = &state.hub;
    if !hub.router.connected() || !hub.bus.connected() {
        return Err(Error::Unavailable("the message router has stopped".into()));
    }
    // Still ready (webhooks are taken and kept) while the Cloud API fails; it says so.
    let outbox = state.store.outbox_len();
    let failing = hub.metrics.cloud_api_failing_since();
    let (_, jump) = hub.metrics.clock_jumps();
    Ok(HttpResponse::Ok().json(json!({
        "status": "ready",
        "outbox": outbox,
        "cloud_api": if failing.is_some() { "failing" } else { "ok" },
        "cloud_api_failing_since": failing,
        "clock_jump": jump.map(|j| json!({"seconds": j.seconds, "at": j.at})),
    })))
}
