//! The WhatsApp webhook: Meta's verification handshake, and the posts that carry customer
//! messages and delivery statuses. A post is answered 200 only once everything in it is
//! durably stored; Meta retries anything else, and the wamid dedupe makes retries harmless.

use std::collections::BTreeMap;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use atende_actors::messages::{
    IngestEdit, IngestMessage, IngestPreference, IngestStatus, IngestUserIdChange, Ingested,
};
use atende_actors::metrics::Metrics;
use atende_actors::whatsapp::signature;
use atende_actors::whatsapp::webhook::{self, InboundMessage, UnusedChange, WebhookBatch};
use atende_data::Unprocessed;
use chrono::Utc;
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;
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
        .service(receive)
        .configure(super::unprocessed::configure);
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
    (status = 403, description = "the verify token does not match", body = ErrorBody),
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
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(expected)));
    match (&query.challenge, matches) {
        (Some(challenge), true) => Ok(HttpResponse::Ok()
            .content_type("text/plain")
            .body(challenge.clone())),
        _ => Err(Error::Forbidden(
            atende_data::refusals::VERIFY_TOKEN_MISMATCH,
        )),
    }
}

/// Receives messages and statuses from the Cloud API.
#[utoipa::path(tag = "webhook", request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "everything in the body is durably stored: `{stored, duplicates, unprocessed}` (changes kept raw as unprocessed)"),
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
    let serves = served_numbers(&state)?;
    let mut batch = webhook::parse_for(&body, &|number| serves.allows(number)).map_err(|_| {
        Metrics::bump(&state.hub.metrics.webhooks_rejected);
        Error::field("body", "is not valid JSON")
    })?;
    Metrics::bump(&state.hub.metrics.webhooks_received);
    let unused = std::mem::take(&mut batch.unused);
    let kept = keep_unused(&state, &unused)?;
    let done = process(&state, batch).await?;
    if kept > 0 {
        state.store.durable().await?;
    }
    Ok(HttpResponse::Ok().json(json!({
        "stored": done.stored, "duplicates": done.duplicates, "unprocessed": kept,
    })))
}

/// The business numbers webhooks are taken for: the enabled configured ones, or any
/// while none is configured (a hub set up before numbers were).
pub(crate) struct Served(Option<Vec<String>>);

impl Served {
    pub(crate) fn allows(&self, number: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|n| n.iter().any(|id| id == number))
    }
}

pub(crate) fn served_numbers(state: &AppState) -> Result<Served> {
    let numbers = state.store.numbers()?;
    Ok(Served((!numbers.is_empty()).then(|| {
        numbers
            .iter()
            .filter(|n| n.enabled)
            .map(|n| n.id.clone())
            .collect()
    })))
}

/// Stores each unused change raw with its reason (durable with the next flush), counts
/// it, and says so in the log; how many were kept.
fn keep_unused(state: &AppState, unused: &[UnusedChange]) -> Result<usize> {
    for change in unused {
        let reason = change.reason.as_str();
        tracing::info!(reason, field = %change.field, detail = ?change.detail, "webhook change kept as unprocessed");
        let entry = Unprocessed {
            id: state.store.new_id()?,
            received_at: Utc::now(),
            reason: reason.to_string(),
            detail: change.detail.clone(),
            field: change.field.clone(),
            phone_number_id: change.phone_number_id.clone(),
            entry_id: change.entry_id.clone(),
            raw: change.raw.to_string(),
            replayed_at: None,
            replay_outcome: None,
        };
        state.store.put_unprocessed(&entry)?;
        state.hub.metrics.unprocessed(reason);
    }
    Ok(unused.len())
}

/// What a batch came to.
pub(crate) struct Processed {
    pub stored: usize,
    pub duplicates: usize,
}

/// Applies a parsed batch: BSUID changes first (later messages name the new BSUID), then
/// messages, statuses and edits (an edit may name a message of the same body). Returns
/// once all of it is durable.
pub(crate) async fn process(state: &AppState, batch: WebhookBatch) -> Result<Processed> {
    for error in &batch.errors {
        tracing::warn!(code = error.code, title = %error.title, "the Cloud API reported an error");
    }
    let router = &state.hub.router;
    for change in batch.user_id_changes {
        router.send(IngestUserIdChange { change }).await??;
    }
    for change in batch.preferences {
        router.send(IngestPreference { change }).await??;
    }
    let statuses = batch
        .statuses
        .into_iter()
        .map(|update| router.send(IngestStatus { update }));
    let (stored, duplicates) = ingest(router, batch.messages).await?;
    for result in join_all(statuses).await {
        result??;
    }
    for edit in batch.edits {
        router.send(IngestEdit { edit }).await??;
    }
    Ok(Processed { stored, duplicates })
}

/// Stores the messages: one contact's in order, different contacts at once.
async fn ingest(
    router: &actix::Addr<atende_actors::router::Router>,
    messages: Vec<InboundMessage>,
) -> Result<(usize, usize)> {
    let mut by_contact: BTreeMap<(String, String), Vec<InboundMessage>> = BTreeMap::new();
    for message in messages {
        by_contact
            .entry((
                message.phone_number_id.clone(),
                message.sender().to_string(),
            ))
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
