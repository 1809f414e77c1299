//! Sandbox only: play a WhatsApp customer from the browser (the `/simulator` page). A
//! message written here takes the same path as one from Meta's webhook; the customer's
//! view lists the conversation with the agents' replies and their ticks.

use actix_web::{get, post, web, HttpResponse};
use atende_actors::messages::{IngestMessage, Ingested};
use atende_actors::whatsapp::webhook::{InboundMedia, InboundMessage, MessageKind, Origin};
use atende_data::{Identity, MessageId};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::messages::MAX_TEXT;
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::sandbox::payloads::is_user_id;
use crate::sandbox::SANDBOX_SECOND_NUMBER_ID;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::MessageView;
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
    /// text, image (a generated picture), or choice: a tap on a button or list row of the
    /// interactive message `reply_to`, whose id is `choice_id`.
    #[serde(rename = "type")]
    #[schema(pattern = r"^(text|image|choice)$")]
    pub kind: String,
    /// The id of the button or row tapped (type choice).
    pub choice_id: Option<String>,
    pub text: Option<String>,
    /// The customer's name as WhatsApp shows it.
    pub profile_name: Option<String>,
    /// A message id of the conversation this one replies to.
    pub reply_to: Option<String>,
    /// The customer's WhatsApp username (a customer named by a BSUID in the path).
    pub username: Option<String>,
    /// Which sandbox business number they write to (the first when left out).
    pub phone_number_id: Option<String>,
}

/// A simulated customer's number query.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Which sandbox business number (the first when left out).
    pub phone_number_id: Option<String>,
}

/// The sandbox number `given`, or the first.
fn sandbox_number(state: &AppState, given: Option<&str>) -> Result<String> {
    let first = state.hub.config.sandbox_number();
    match given {
        None => Ok(first),
        Some(number) if number == first || number == SANDBOX_SECOND_NUMBER_ID => {
            Ok(number.to_string())
        }
        Some(_) => Err(Error::unknown(
            "phone_number_id",
            "is not a number of the sandbox",
        )),
    }
}

/// Who the simulated customer is: a phone number, or a BSUID (a customer known only by
/// their username).
fn identity_of(key: &str, body: &CustomerMessage) -> Identity {
    let profile_name = body.profile_name.clone().filter(|n| !n.trim().is_empty());
    if is_user_id(key) {
        Identity {
            user_id: Some(key.to_string()),
            username: body.username.clone().filter(|n| !n.trim().is_empty()),
            profile_name,
            ..Default::default()
        }
    } else {
        Identity {
            wa_id: Some(key.to_string()),
            profile_name,
            ..Default::default()
        }
    }
}

fn sandbox_only(state: &AppState) -> Result<()> {
    if state.config.sandbox {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

fn check_number(key: &str) -> Result<()> {
    let phone = (8..=15).contains(&key.len()) && key.chars().all(|c| c.is_ascii_digit());
    if phone || (is_user_id(key) && key.len() <= 140) {
        Ok(())
    } else {
        Err(Error::field(
            "wa_id",
            "must be 8 to 15 digits, or a BSUID such as BR.1234567890",
        ))
    }
}

/// A simulated customer writes to the business (sandbox mode only).
#[utoipa::path(tag = "sandbox", request_body = CustomerMessage, params(("wa_id" = String, Path, pattern = r"^([0-9]{8,15}|[A-Z]{2}\.[A-Za-z0-9.]{1,137})$")), security(("bearer" = [])), responses(
    (status = 201, body = MessageView),
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
        matches!(body.kind.as_str(), "text" | "image" | "choice"),
        "type",
        "must be text, image or choice",
    );
    fields.check(
        body.kind != "choice" || (body.choice_id.is_some() && body.reply_to.is_some()),
        "choice_id",
        "a choice names the interactive message (reply_to) and its button or row",
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
    let number = sandbox_number(&state, body.phone_number_id.as_deref())?;
    let customer = state.store.find_contacts(&path, Some(&number))?;
    let quoted =
        match &body.reply_to {
            Some(raw) => {
                let id: MessageId = raw
                    .parse()
                    .map_err(|_| Error::field("reply_to", "is not a message id"))?;
                let chat = match customer.first() {
                    Some(contact) => state.store.latest_chat(contact.id, &number)?,
                    None => None,
                };
                let quoted = chat.and_then(|c| state.store.message(c.id, id).ok().flatten());
                Some(quoted.filter(|m| m.wamid.is_some()).ok_or_else(|| {
                    Error::field("reply_to", "is not a message of this conversation")
                })?)
            }
            None => None,
        };
    let choice = match (&body.choice_id, &quoted) {
        (Some(choice), Some(question)) if body.kind == "choice" => Some(
            tapped(question, choice)
                .ok_or_else(|| Error::field("choice_id", "is not a button or row of reply_to"))?,
        ),
        _ => None,
    };
    let reply_to = quoted.and_then(|m| m.wamid);
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
        phone_number_id: number,
        identity: identity_of(&path, &body),
        origin: Origin::Customer,
        wamid,
        timestamp: Some(now),
        kind: if image {
            MessageKind::Image
        } else if choice.is_some() {
            MessageKind::Interactive
        } else {
            MessageKind::Text
        },
        text: match &choice {
            Some((_, title)) => Some(title.clone()),
            None if image => None,
            None => text.clone(),
        },
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
        details: choice.map(|(reply, _)| serde_json::json!({"interactive": reply})),
        errors: Vec::new(),
    };
    match state.hub.router.send(IngestMessage { message }).await?? {
        Ingested::Stored(message) => {
            Ok(HttpResponse::Created().json(MessageView::new(&message, &state.store)))
        }
        Ingested::Duplicate => Err(Error::Conflict(atende_data::refusals::ALREADY_STORED)),
    }
}

/// The simulated customer's side of the conversation: their messages and the replies.
#[utoipa::path(tag = "sandbox", params(("wa_id" = String, Path, pattern = r"^([0-9]{8,15}|[A-Z]{2}\.[A-Za-z0-9.]{1,137})$"), CustomerQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<MessageView>),
    (status = 404, description = "not in sandbox mode", body = ErrorBody),
    (status = 409, description = "`unknown_reference`: `phone_number_id` is not a number of the sandbox", body = ErrorBody),
))]
#[get("/sandbox/customers/{wa_id}/messages")]
async fn customer_view(
    state: web::Data<AppState>,
    _auth: Auth,
    path: web::Path<String>,
    query: web::Query<CustomerQuery>,
) -> Result<HttpResponse> {
    sandbox_only(&state)?;
    check_number(&path)?;
    let number = sandbox_number(&state, query.phone_number_id.as_deref())?;
    let mut chats = Vec::new();
    for contact in state.store.find_contacts(&path, Some(&number))? {
        chats.extend(state.store.contact_chats(contact.id, 20)?);
    }
    let mut items = Vec::new();
    for chat in chats.into_iter().rev() {
        let (messages, _) = state.store.messages(chat.id, None, MAX_SHOWN)?;
        items.extend(
            messages
                .iter()
                .filter(|m| m.kind != "note" && m.kind != "activity")
                .map(|m| MessageView::new(m, &state.store)),
        );
    }
    Ok(HttpResponse::Ok().json(Page::whole(items)))
}

/// The answer WhatsApp sends when the customer taps `id` on the interactive `question`:
/// its `interactive` object and the title tapped.
fn tapped(question: &atende_data::Message, id: &str) -> Option<(serde_json::Value, String)> {
    let interactive = question.details.as_ref()?.get("interactive")?;
    let action = interactive.get("action")?;
    let (kind, title) = match interactive.get("type")?.as_str()? {
        "button" => {
            let buttons = action.get("buttons")?.as_array()?;
            let reply = buttons
                .iter()
                .filter_map(|b| b.get("reply"))
                .find(|r| r["id"] == id)?;
            ("button_reply", reply.get("title")?.as_str()?.to_string())
        }
        "list" => {
            let sections = action.get("sections")?.as_array()?;
            let row = sections
                .iter()
                .filter_map(|s| s.get("rows")?.as_array())
                .flatten()
                .find(|r| r["id"] == id)?;
            ("list_reply", row.get("title")?.as_str()?.to_string())
        }
        _ => return None,
    };
    let reply = serde_json::json!({"type": kind, kind: {"id": id, "title": title}});
    Some((reply, title))
}
