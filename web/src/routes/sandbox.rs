//! Sandbox only: play a WhatsApp customer from the browser (the `/simulator` page). A
//! message written here takes the same path as one from Meta's webhook; the customer's
//! view lists the conversation with the agents' replies and their ticks.

use actix_web::{get, post, web, HttpResponse};
use atende_actors::messages::{IngestMessage, Ingested};
use atende_actors::whatsapp::webhook::{InboundMedia, InboundMessage, MessageKind};
use atende_data::MessageId;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::messages::MAX_TEXT;
use crate::auth::Auth;
use crate::conversation::MessageView;
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{ErrorBody, Page};

/// Messages of a simulated customer shown at most.
const MAX_SHOWN: usize = 200;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(customer_writes).service(customer_view);
}

/// What the simulated customer sends.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerMessage {
    /// text or image (a generated picture).
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    /// The customer's name as WhatsApp shows it.
    pub profile_name: Option<String>,
    /// A message id of the conversation this one replies to.
    pub reply_to: Option<String>,
}

fn sandbox_only(state: &AppState) -> Result<()> {
    if state.config.sandbox {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

fn check_number(wa_id: &str) -> Result<()> {
    let ok = (8..=15).contains(&wa_id.len()) && wa_id.chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::field("wa_id", "must be 8 to 15 digits"))
    }
}

/// A simulated customer writes to the business (sandbox mode only).
#[utoipa::path(tag = "sandbox", request_body = CustomerMessage, params(("wa_id" = String, Path)), security(("bearer" = [])), responses(
    (status = 201, body = MessageView),
    (status = 400, body = ErrorBody),
    (status = 404, description = "not in sandbox mode", body = ErrorBody),
))]
#[post("/sandbox/customers/{wa_id}/messages")]
async fn customer_writes(
    state: web::Data<AppState>,
    _auth: Auth,
    path: web::Path<String>,
    body: Json<CustomerMessage>,
) -> Result<HttpResponse> {
    sandbox_only(&state)?;
    check_number(&path)?;
    let body = body.0;
    let text = body.text.clone().filter(|t| !t.trim().is_empty());
    let mut fields = Fields::default();
    fields.check(
        matches!(body.kind.as_str(), "text" | "image"),
        "type",
        "must be text or image",
    );
    fields.check(
        body.kind != "text" || text.is_some(),
        "text",
        "must not be empty",
    );
    fields.check(
        text.as_ref().is_none_or(|t| t.chars().count() <= MAX_TEXT),
        "text",
        "must be at most 4096 characters",
    );
    fields.finish()?;
    let reply_to =
        match &body.reply_to {
            Some(raw) => {
                let id: MessageId = raw
                    .parse()
                    .map_err(|_| Error::field("reply_to", "is not a message id"))?;
                let chat = state
                    .store
                    .latest_chat(&path, &state.hub.config.sandbox_number())?;
                let quoted = chat.and_then(|c| state.store.message(c.id, id).ok().flatten());
                Some(quoted.and_then(|m| m.wamid).ok_or_else(|| {
                    Error::field("reply_to", "is not a message of this conversation")
                })?)
            }
            None => None,
        };
    let now = Utc::now();
    let wamid = format!(
        "wamid.SANDBOX{}",
        atende_data::random_bytes(8)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
    );
    let image = body.kind == "image";
    let message = InboundMessage {
        phone_number_id: state.hub.config.sandbox_number(),
        from: path.to_string(),
        profile_name: body.profile_name.filter(|n| !n.trim().is_empty()),
        wamid,
        timestamp: Some(now),
        kind: if image {
            MessageKind::Image
        } else {
            MessageKind::Text
        },
        text: if image { None } else { text.clone() },
        caption: if image { text } else { None },
        media: image.then(|| InboundMedia {
            id: format!("sim-image-{}", now.timestamp_millis()),
            mime_type: Some("image/png".into()),
            sha256: None,
            filename: None,
            voice: false,
            animated: false,
        }),
        location: None,
        reaction: None,
        reply_to,
        forwarded: false,
        details: None,
        errors: Vec::new(),
    };
    match state.hub.router.send(IngestMessage { message }).await?? {
        Ingested::Stored(message) => {
            Ok(HttpResponse::Created().json(MessageView::new(&message, &state.store)))
        }
        Ingested::Duplicate => Err(Error::Conflict("this message was already stored".into())),
    }
}

/// The simulated customer's side of the conversation: their messages and the replies.
#[utoipa::path(tag = "sandbox", params(("wa_id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Page<MessageView>),
    (status = 404, description = "not in sandbox mode", body = ErrorBody),
))]
#[get("/sandbox/customers/{wa_id}/messages")]
async fn customer_view(
    state: web::Data<AppState>,
    _auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    sandbox_only(&state)?;
    check_number(&path)?;
    let mut items = Vec::new();
    for chat in state.store.contact_chats(&path, 20)?.into_iter().rev() {
        let (messages, _) = state.store.messages(chat.id, None, MAX_SHOWN)?;
        items.extend(
            messages
                .iter()
                .filter(|m| m.kind != "note")
                .map(|m| MessageView::new(m, &state.store)),
        );
    }
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}
