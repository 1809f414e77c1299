//! `GET /api/v1/backup`: a consistent backup of the running hub (admins), for
//! `atende backup` while the hub holds the data directory.

use actix_web::{get, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Admin;
use crate::error::Result;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(backup);
}

/// The whole data directory (database, media, keys) as one checksummed file.
#[utoipa::path(tag = "operations", security(("bearer" = [])), responses(
    (status = 200, description = "application/octet-stream: the backup file"),
))]
#[get("/backup")]
async fn backup(state: web::Data<AppState>, req: HttpRequest, auth: Admin) -> Result<HttpResponse> {
    let store = state.store.clone();
    let name = format!(".backup-{}.tmp", hex::encode(atende_data::random_bytes(8)));
    let path = store.dir().join(name);
    let bytes = web::block(move || {
        let written = store.backup(&path).and_then(|()| {
            std::fs::read(&path).map_err(|source| atende_data::Error::Io {
                path: path.clone(),
                source,
            })
        });
        let _ = std::fs::remove_file(&path);
        written
    })
    .await??;
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "backup.created",
        None,
        Some(format!("{} bytes", bytes.len())),
    )?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            "content-disposition",
            "attachment; filename=\"atende.backup\"",
        ))
        .body(bytes))
}
