//! The OpenAPI document and the reference page rendered from it.

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{web, HttpResponse};

use crate::openapi::render_html;

/// The generated document, rendered once at start.
pub struct ApiDocument {
    json: String,
    html: String,
}

impl ApiDocument {
    pub fn new(api: &utoipa::openapi::OpenApi) -> ApiDocument {
        let value = serde_json::to_value(api).unwrap_or_default();
        ApiDocument {
            json: value.to_string(),
            html: render_html(&value),
        }
    }
}

const STYLESHEET: &str = include_str!("../../ui/docs.css");

/// Plain actix routes: they document the API rather than belong to it.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/openapi.json", web::get().to(openapi_json))
        .route("/docs", web::get().to(docs_page))
        .route("/docs/docs.css", web::get().to(stylesheet));
}

async fn openapi_json(doc: web::Data<ApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(doc.json.clone())
}

async fn docs_page(doc: web::Data<ApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(doc.html.clone())
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(CacheControl(vec![CacheDirective::MaxAge(3600)]))
        .body(STYLESHEET)
}
