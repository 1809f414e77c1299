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
                let methods = item.as_object().into_iter().flatten();
                let methods = methods.map(|(m, _)| m.to_uppercase()).collect();
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
    /// does not know.
    pub fn allowed(&self, path: &str) -> Option<String> {
        let asked: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let mut methods: Vec<&str> = Vec::new();
        for (segments, served) in &self.paths {
            let matches = segments.len() == asked.len()
                && segments
                    .iter()
                    .zip(&asked)
                    .all(|(s, a)| s == a || (s.starts_with('{') && !a.is_empty()));
            if matches {
                methods.extend(served.iter().map(String::as_str));
            }
        }
        methods.sort_unstable();
        methods.dedup();
        (!methods.is_empty()).then(|| methods.join(", "))
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
