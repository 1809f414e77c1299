//! The OpenAPI document and the reference page rendered from it.

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{web, HttpResponse};

use crate::openapi::render_html;

/// The generated document, rendered once at start.
pub struct ApiDocument {
    json: String,
    html: String,
    /// Each documented path's segments (`{...}` for a parameter) and its methods.
    paths: Vec<(Vec<String>, Vec<String>)>,
}

impl ApiDocument {
    pub fn new(api: &utoipa::openapi::OpenApi) -> ApiDocument {
        let mut value = serde_json::to_value(api).unwrap_or_default();
        crate::openapi::complete(&mut value);
        let paths = value["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, item)| {
                let segments = path.split('/').map(str::to_string).collect();
                let methods = crate::openapi::METHODS
                    .iter()
                    .filter(|m| item.get(**m).is_some());
                let methods = methods.map(|m| m.to_uppercase()).collect();
                (segments, methods)
            })
            .collect();
        ApiDocument {
            json: value.to_string(),
            html: render_html(&value),
            paths,
        }
    }

    /// The methods the document serves at `path` (for `Allow`), or `None` for a path it
    /// does not know. The most specific path decides: `/contacts/import` is not a contact
    /// of `/contacts/{key}`.
    pub fn allowed(&self, path: &str) -> Option<String> {
        let asked: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let matching = self.paths.iter().filter(|(segments, _)| {
            segments.len() == asked.len()
                && segments
                    .iter()
                    .zip(&asked)
                    .all(|(s, a)| s == a || (s.starts_with('{') && !a.is_empty()))
        });
        let parameters =
            |segments: &[String]| segments.iter().filter(|s| s.starts_with('{')).count();
        let (_, served) = matching.min_by_key(|(segments, _)| parameters(segments))?;
        let mut methods: Vec<&str> = served.iter().map(String::as_str).collect();
        methods.sort_unstable();
        Some(methods.join(", "))
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
