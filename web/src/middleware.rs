//! The layers every request passes: request id and span, security headers, the JSON error
//! format for whatever an inner layer answered, CORS and rate limits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{RequestHead, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, Error as ActixError, ResponseError};
use tracing::Instrument;

use crate::auth::bearer;
use crate::error::Error;
use crate::state::{AppState, WebConfig};

/// The strict policy: no inline script or style, nothing from other origins.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// How long browsers may cache a CORS preflight answer.
const CORS_MAX_AGE_SECONDS: usize = 3600;
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Opens a span per request with a fresh request id (returned as `X-Request-Id`) and logs
/// the outcome. Only the path is logged: query strings can hold secrets (Meta's verify
/// token), and bodies hold phone numbers and message text.
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, ActixError> {
    let id = request_id();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
    );
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.hub.metrics.clone());
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let _entered = span.enter();
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        metrics.observe_latency(elapsed);
    }
    let elapsed_ms = elapsed * 1000.0;
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            tracing::info!(status, elapsed_ms, "request finished");
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(REQUEST_ID, value);
            }
            Ok(res)
        }
        Err(error) => {
            tracing::info!(
                status = error.as_response_error().status_code().as_u16(),
                elapsed_ms,
                "request failed"
            );
            Err(error)
        }
    }
}

/// Security headers on every response; HSTS only when the hub serves TLS itself.
pub fn security_headers(config: &WebConfig) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            HeaderName::from_static("permissions-policy"),
            "camera=(), geolocation=(), microphone=(self)",
        ));
    if config.tls {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// Rewrites any error response under `/api` that is not in the API's JSON format (actix's
/// own 404/405, CORS refusals, extractor errors) into it, keeping its status and headers.
pub async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, ActixError> {
    if !req.path().starts_with("/api/") {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    // An inner layer's error has no request left to answer with; ours renders as JSON.
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(error) => {
            let status = error.as_response_error().status_code();
            return Err(api_error(status, Some(error.to_string())).into());
        }
    };
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status().as_u16() < 400 || is_json {
        return Ok(res.map_into_left_body());
    }
    let status = res.status();
    let mut replacement = api_error(status, None).error_response();
    *replacement.status_mut() = status;
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replacement
                .headers_mut()
                .insert(name.clone(), value.clone());
        }
    }
    Ok(res.into_response(replacement).map_into_right_body())
}

fn api_error(status: StatusCode, detail: Option<String>) -> Error {
    match detail {
        Some(message) if status == StatusCode::BAD_REQUEST => Error::Validation {
            message,
            fields: Default::default(),
        },
        _ => Error::from_status(status),
    }
}

/// CORS: the configured origins, and always the hub's own origin (browsers send `Origin`
/// on same-origin POSTs too).
pub fn cors(config: &WebConfig) -> Cors {
    let config = config.clone();
    Cors::default()
        .allowed_origin_fn(move |origin, head| origin_allowed(&config, origin, head))
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([header::RETRY_AFTER, REQUEST_ID])
        .max_age(CORS_MAX_AGE_SECONDS)
}

/// Whether a browser page from `origin` may call the hub: one of the configured origins,
/// or the hub's own. The HTTP API (through CORS) and the WebSocket handshake both ask.
pub fn origin_allowed(config: &WebConfig, origin: &HeaderValue, head: &RequestHead) -> bool {
    let listed = config.cors_origins.iter();
    listed
        .map(|allowed| allowed.as_bytes())
        .any(|allowed| allowed == origin.as_bytes())
        || same_origin(origin, head)
}

fn same_origin(origin: &HeaderValue, head: &RequestHead) -> bool {
    let Some(host) = head.headers().get(header::HOST) else {
        return false;
    };
    let origin = origin.as_bytes();
    let authority = origin
        .strip_prefix(b"https://")
        .or_else(|| origin.strip_prefix(b"http://"));
    authority == Some(host.as_bytes())
}

/// Token buckets per address on the API and the webhook, and per user on the API.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, ActixError> {
    let verdict = match req.app_data::<web::Data<AppState>>() {
        Some(state) if req.path().starts_with("/api/") => check_rates(&req, state),
        _ => Ok(()),
    };
    match verdict {
        Ok(()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err(wait) => {
            let retry_after = wait.as_secs().max(1);
            let response = Error::RateLimited { retry_after }.error_response();
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

fn check_rates(req: &ServiceRequest, state: &AppState) -> Result<(), std::time::Duration> {
    let address = crate::routes::client_ip(req.request());
    let limits = &state.limits;
    // Meta's posts have their own, larger bucket; the admins' routes beside them
    // (`/webhooks/unprocessed`) are API routes like any other.
    if req.path() == "/api/v1/webhooks/whatsapp" {
        return address.map_or(Ok(()), |ip| limits.webhook.check(&ip));
    }
    if let Some(ip) = address {
        limits.per_address.check(&ip)?;
    }
    // The signature check is cheap; the user is looked up later, by the extractor. An API
    // token counts against its own bucket once its secret is checked (so nobody can spend
    // another token's requests by naming its id).
    let user = bearer(req.request()).and_then(|token| {
        if token.starts_with(crate::auth::API_TOKEN_PREFIX) {
            crate::auth::api_token(state, token).ok().map(|t| t.id.0)
        } else {
            let claims = state.tokens.verify(token)?;
            claims.sub.parse::<u64>().ok()
        }
    });
    user.map_or(Ok(()), |id| limits.per_user.check(&id))
}

/// A process-unique request id: a random start, then counting (no system call for
/// randomness on every request).
fn request_id() -> String {
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    let next = NEXT.get_or_init(|| {
        let start = atende_data::random_bytes(8).try_into().unwrap_or_default();
        AtomicU64::new(u64::from_be_bytes(start))
    });
    format!("{:016x}", next.fetch_add(1, Ordering::Relaxed))
}
