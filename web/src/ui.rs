//! The browser console: HTML, CSS and ES modules from `web/ui/`, embedded into release
//! builds and read from disk in debug builds (edit, reload, no rebuild). Every page path
//! that is not an API path gets `index.html`; the console routes on the client.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use rust_embed::RustEmbed;

use crate::error::Error;
use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "ui/"]
struct Assets;

/// `/assets/...` and the console's pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/{path:.*}", web::get().to(asset))
        .route("/simulator", web::get().to(simulator))
        .route("/", web::get().to(|| async { page("index.html") }));
}

/// The console for any page path (client-side routing); unknown API paths are 404s.
pub async fn fallback(
    req: HttpRequest,
    doc: web::Data<crate::routes::docs::ApiDocument>,
) -> Result<HttpResponse, Error> {
    let is_page = req.method() == actix_web::http::Method::GET && !req.path().starts_with("/api/");
    if is_page {
        return Ok(page("index.html"));
    }
    // A documented path asked with a method it does not serve.
    let Some(allow) = doc.allowed(req.path()) else {
        return Err(Error::NotFound);
    };
    let mut response = Error::MethodNotAllowed.error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    Ok(response)
}

async fn simulator(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    if !state.config.sandbox {
        return Err(Error::NotFound);
    }
    Ok(page("simulator.html"))
}

fn page(name: &str) -> HttpResponse {
    match Assets::get(name) {
        Some(file) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header(CacheControl(vec![CacheDirective::NoCache]))
            .body(file.data.into_owned()),
        None => HttpResponse::NotFound().body("the console is not built into this binary"),
    }
}

/// An asset, revalidated by its content hash on every use: after an upgrade a browser
/// never mixes old and new modules, and an unchanged file costs a 304.
async fn asset(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let file = Assets::get(&path).ok_or(Error::NotFound)?;
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]));
    let cached = req
        .headers()
        .get(actix_web::http::header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut response = if cached {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((actix_web::http::header::ETAG, etag))
        .insert_header(CacheControl(vec![CacheDirective::NoCache]));
    if cached {
        return Ok(response.finish());
    }
    Ok(response
        .content_type(file.metadata.mimetype())
        .body(file.data.into_owned()))
}
