//! The click-to-chat QR code: `https://wa.me/<number>?text=<prefilled>` as an SVG made
//! here (no outside service), for posters and counters.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{get, web, HttpResponse};
use qrcode::render::svg;
use qrcode::QrCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Staff;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::views::ErrorBody;

/// Longest prefilled text (a QR code must stay scannable).
const MAX_PREFILL: usize = 300;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(qr);
}

/// The prefilled message of the link.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QrQuery {
    /// Text the customer's WhatsApp opens with, e.g. "Olá, vim pelo cartaz".
    pub text: Option<String>,
}

/// The business number's click-to-chat link as an SVG QR code.
#[utoipa::path(tag = "settings", params(QrQuery), security(("bearer" = [])), responses(
    (status = 200, description = "image/svg+xml"),
    (status = 404, description = "no WHATSAPP_DISPLAY_NUMBER configured", body = ErrorBody),
))]
#[get("/qr.svg")]
async fn qr(
    state: web::Data<AppState>,
    _staff: Staff,
    query: web::Query<QrQuery>,
) -> Result<HttpResponse> {
    let number = state
        .config
        .display_number
        .as_deref()
        .ok_or(Error::NotFound)?;
    let text = query.text.as_deref().filter(|t| !t.trim().is_empty());
    if text.is_some_and(|t| t.chars().count() > MAX_PREFILL) {
        return Err(Error::field("text", "must be at most 300 characters"));
    }
    let link = match text {
        Some(text) => format!("https://wa.me/{number}?text={}", percent_encode(text)),
        None => format!("https://wa.me/{number}"),
    };
    let code = QrCode::new(link.as_bytes())
        .map_err(|_| Error::field("text", "is too long for a QR code"))?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(CacheControl(vec![
            CacheDirective::Private,
            CacheDirective::MaxAge(300),
        ]))
        .body(image))
}

/// URL-encodes a query value (RFC 3986 unreserved characters stay).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefilled_text_is_url_encoded() {
        assert_eq!(super::percent_encode("Olá, vim!"), "Ol%C3%A1%2C%20vim%21");
    }
}
