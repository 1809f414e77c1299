//! The WhatsApp webhook: Meta's verification handshake, and the posts that carry customer
//! messages and delivery statuses. A post is answered 200 only once everything in it is
//! durably stored; Meta retries anything else, and the wamid dedupe makes retries harmless.

use std::collections::BTreeMap;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use atende_actors::messages::{IngestMessage, IngestStatus, Ingested};
use atende_actors::metrics::Metrics;
use atende_actors::whatsapp::signature;
use atende_actors::whatsapp::webhook::{self, InboundMessage};
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{Error, Result};
use crate::state::AppState;
use crate::views::ErrorBody;

/// Largest webhook body taken; Meta's are far smaller, a bigger one is not Meta's.
pub const WEBHOOK_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Served under `/api/v1/webhooks`, with its own body limit.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(WEBHOOK_BODY_LIMIT))
        .service(verify)
        .service(receive);
}

/// Meta's verification request.
#[derive(Deserialize, IntoParams)]
pub struct Verification {
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// Answers Meta's subscription check with the challenge when the verify token matches.
#[utoipa::path(tag = "webhook", params(Verification), responses(
    (status = 200, description = "the challenge, as text/plain"),
    (status = 403, body = ErrorBody),
))]
#[get("/whatsapp")]
async fn verify(
    state: web::Data<AppState>,
    query: web::Query<Verification>,
) -> Result<HttpResponse> {
    let expected = state.config.verify_token.as_bytes();
    let matches = query.mode.as_deref() == Some("subscribe")
        && query
            .verify_token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), expected));
    match (&query.challenge, matches) {
        (Some(challenge), true) => Ok(HttpResponse::Ok()
            .content_type("text/plain")
            .body(challenge.clone())),
        _ => Err(Error::Forbidden("the verify token does not match")),
    }
}

/// Receives messages and statuses from the Cloud API.
#[utoipa::path(tag = "webhook", request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "everything in the body is durably stored"),
        (status = 400, description = "the body is not JSON", body = ErrorBody),
        (status = 401, description = "missing or wrong X-Hub-Signature-256", body = ErrorBody),
    ))]
#[post("/whatsapp")]
async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    if let Some(secret) = &state.config.app_secret {
        let header = req
            .headers()
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok());
        if !signature::verify(secret.as_bytes(), &body, header) {
            Metrics::bump(&state.hub.metrics.webhooks_rejected);
            return Err(Error::Unauthorized {
                code: "invalid_signature",
                message: "X-Hub-Signature-256 is missing or wrong",
            });
        }
    }
    let batch = webhook::parse(&body).map_err(|_| {
        Metrics::bump(&state.hub.metrics.webhooks_rejected);
        Error::field("body", "is not valid JSON")
    })?;
    Metrics::bump(&state.hub.metrics.webhooks_received);
    for line in &batch.skipped {
        tracing::info!(detail = %line, "webhook item not acted on");
    }
    for error in &batch.errors {
        tracing::warn!(code = error.code, title = %error.title, "the Cloud API reported an error");
    }
    let router = &state.hub.router;
    let statuses = batch
        .statuses
        .into_iter()
        .map(|update| router.send(IngestStatus { update }));
    let (stored, duplicates) = ingest(router, batch.messages).await?;
    for result in join_all(statuses).await {
        result??;
    }
    Ok(HttpResponse::Ok().json(json!({"stored": stored, "duplicates": duplicates})))
}

/// Stores the messages: one contact's in order, different contacts at once.
async fn ingest(
    router: &actix::Addr<atende_actors::router::Router>,
    messages: Vec<InboundMessage>,
) -> Result<(usize, usize)> {
    let mut by_contact: BTreeMap<(String, String), Vec<InboundMessage>> = BTreeMap::new();
    for message in messages {
        by_contact
            .entry((message.phone_number_id.clone(), message.from.clone()))
            .or_default()
            .push(message);
    }
    let runs = by_contact.into_values().map(|messages| async move {
        let (mut stored, mut duplicates) = (0, 0);
        for message in messages {
            match router.send(IngestMessage { message }).await?? {
                Ingested::Stored(_) => stored += 1,
                Ingested::Duplicate => duplicates += 1,
            }
        }
        Ok::<_, Error>((stored, duplicates))
    });
    let mut totals = (0, 0);
    for result in join_all(runs).await {
        let (stored, duplicates) = result?;
        totals = (totals.0 + stored, totals.1 + duplicates);
    }
    Ok(totals)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
