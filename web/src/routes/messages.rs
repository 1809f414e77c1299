//! The messages of a chat: the conversation pages, and sending (text, media, templates),
//! idempotent by the client's `client_id`.

use actix_web::{get, post, web, HttpResponse};
use atende_actors::messages::{Caller, Outgoing, SendReply};
use atende_data::{MediaId, MessageId};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::chats::visible_chat;
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::MessageView;
use crate::views::{page_limit, ErrorBody, Page};

/// WhatsApp's limit on a text message body.
pub const MAX_TEXT: usize = 4096;
/// WhatsApp's limit on a media caption.
pub const MAX_CAPTION: usize = 1024;
/// Longest client id (a UUID is 36).
const MAX_CLIENT_ID: usize = 100;
const MEDIA_TYPES: &[&str] = &["image", "audio", "video", "document", "sticker"];

/// Messages a search inside a chat answers at most.
const MAX_FOUND: usize = 200;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_messages).service(send_message);
}

/// Paging of a conversation.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    /// Messages before this message id (older ones).
    pub before: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Also the lines that tell what happened to the chat (type `activity`: claimed,
    /// transferred, closed with its note, reopened, assigned, handed over by a bot).
    pub activity: Option<bool>,
    /// Only the messages whose text, caption or file name holds these words (any case,
    /// accents ignored), oldest first, the newest 200 at most; no paging.
    pub q: Option<String>,
    /// Only the pinned messages (the newest 200 at most); no paging.
    pub pinned: Option<bool>,
}

/// A chat's messages, oldest to newest within a page; `before` pages back.
#[utoipa::path(tag = "messages", params(MessageQuery, ("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Page<MessageView>, description = "next_cursor is the `before` of the older page"),
))]
#[get("/chats/{id}/messages")]
async fn list_messages(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    query: web::Query<MessageQuery>,
) -> Result<HttpResponse> {
    let chat = visible_chat(&state, &auth, &path)?;
    let limit = page_limit(query.limit)?;
    let before = match &query.before {
        Some(raw) => Some(
            raw.parse::<MessageId>()
                .map_err(|_| Error::field("before", "is not a message id"))?,
        ),
        None => None,
    };
    let store = state.store.clone();
    let q = query.q.clone().filter(|q| !q.trim().is_empty());
    let pinned = query.pinned.unwrap_or(false);
    if q.is_some() || pinned {
        let found = web::block(move || match q {
            Some(q) => store.search_chat_messages(chat.id, &q, MAX_FOUND),
            None => store.chat_messages_where(chat.id, MAX_FOUND, |m| {
                m.details
                    .as_ref()
                    .is_some_and(|d| d.get("pinned").is_some())
            }),
        })
        .await??;
        return Ok(HttpResponse::Ok().json(Page {
            items: found
                .iter()
                .map(|m| MessageView::new(m, &state.store))
                .collect(),
            next_cursor: None,
        }));
    }
    let (messages, more) = web::block(move || store.messages(chat.id, before, limit)).await??;
    let next_cursor = more
        .then(|| messages.first().map(|m| m.id.to_string()))
        .flatten();
    let activity = query.activity.unwrap_or(false);
    Ok(HttpResponse::Ok().json(Page {
        items: messages
            .iter()
            .filter(|m| activity || m.kind != "activity")
            .map(|m| MessageView::new(m, &state.store))
            .collect(),
        next_cursor,
    }))
}

/// A template to send outside the 24-hour window.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    pub name: String,
    /// The template's language code, e.g. pt_BR.
    pub language: String,
    /// As the Cloud API's template components.
    #[schema(value_type = Option<Vec<Object>>)]
    pub components: Option<Value>,
}

/// An emoji on a message; an empty emoji takes the reaction back.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionRequest {
    pub message_id: String,
    pub emoji: String,
}

/// What to send: `text` (with `text`, optional `reply_to`), a media type (with `media_id`
/// from `POST /api/v1/media`, optional `caption`), `template`, `reaction`, or
/// `interactive` (reply buttons, a list or a URL button).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// Chosen by the client; the same id again returns the first message and sends nothing.
    pub client_id: String,
    /// text, image, audio, video, document, sticker, template, reaction or interactive.
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    pub reply_to: Option<String>,
    pub media_id: Option<String>,
    pub caption: Option<String>,
    pub template: Option<TemplateRequest>,
    pub reaction: Option<ReactionRequest>,
    pub interactive: Option<crate::interactive::InteractiveRequest>,
}

/// Sends a message: stored with status `queued` and answered 202, then sent by the
/// outbound queue. Outside the 24-hour window only a template may be sent (422).
#[utoipa::path(tag = "messages", request_body = SendRequest, params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 202, body = MessageView, description = "queued"),
    (status = 200, body = MessageView, description = "this client_id was sent before: the first message"),
    (status = 409, description = "`chat_closed_write`: the chat is closed; `chat_not_with_bot`: a bot writing to a chat it no longer holds", body = ErrorBody),
    (status = 422, description = "`window_closed`, or `recipient_needs_phone` (an authentication template to a customer known only by their username)", body = ErrorBody),
))]
#[post("/chats/{id}/messages")]
async fn send_message(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: Json<SendRequest>,
) -> Result<HttpResponse> {
    let chat = visible_chat(&state, &auth, &path)?;
    let request = body.0;
    let content = outgoing(&request)?;
    if let Outgoing::Template { name, language, .. } = &content {
        refuse_authentication_without_phone(&state, &chat, name, language).await?;
    }
    let msg = SendReply {
        chat_id: chat.id,
        by: Caller::from(&auth.0),
        client_id: request.client_id,
        content,
        details: None,
    };
    let sent = state.hub.router.send(msg).await??;
    let view = MessageView::new(&sent.message, &state.store);
    Ok(if sent.created {
        HttpResponse::Accepted().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Meta sends authentication templates (one-tap, zero-tap, copy-code) only to phone
/// numbers: refused here, before anything is queued, for a customer known only by a BSUID.
async fn refuse_authentication_without_phone(
    state: &AppState,
    chat: &atende_data::Chat,
    name: &str,
    language: &str,
) -> Result<()> {
    let contact = state.store.contact(chat.contact_id)?;
    if contact.is_some_and(|c| c.wa_id.is_some()) {
        return Ok(());
    }
    // An unreachable template list refuses nothing: Meta's 131062 then says it.
    let templates = state.hub.templates().await.unwrap_or_default();
    let authentication = templates.iter().any(|t| {
        t["name"] == name
            && t["language"] == language
            && t["category"]
                .as_str()
                .is_some_and(|c| c.eq_ignore_ascii_case("authentication"))
    });
    if authentication {
        return Err(Error::NeedsPhone);
    }
    Ok(())
}

/// Checks a send request and turns it into what the chat actor sends.
fn outgoing(request: &SendRequest) -> Result<Outgoing> {
    let mut fields = Fields::default();
    fields.check(
        !request.client_id.trim().is_empty() && request.client_id.len() <= MAX_CLIENT_ID,
        "client_id",
        "must be 1 to 100 characters",
    );
    let kind = request.kind.as_str();
    let content = match kind {
        "text" => {
            let text = request.text.clone().unwrap_or_default();
            fields.text("text", &text, MAX_TEXT);
            let reply_to = match &request.reply_to {
                Some(raw) => raw.parse::<MessageId>().ok().or_else(|| {
                    fields.check(false, "reply_to", "is not a message id");
                    None
                }),
                None => None,
            };
            Outgoing::Text { text, reply_to }
        }
        "template" => {
            let Some(t) = &request.template else {
                return Err(Error::field(
                    "template",
                    "is required for a template message",
                ));
            };
            fields
                .text("template.name", &t.name, 512)
                .text("template.language", &t.language, 15);
            fields.check(
                t.components.as_ref().is_none_or(Value::is_array),
                "template.components",
                "must be an array",
            );
            Outgoing::Template {
                name: t.name.clone(),
                language: t.language.clone(),
                components: t.components.clone(),
            }
        }
        "interactive" => {
            let Some(i) = &request.interactive else {
                return Err(Error::field(
                    "interactive",
                    "is required for an interactive message",
                ));
            };
            let (interactive, text) = crate::interactive::build(&mut fields, i);
            Outgoing::Interactive { interactive, text }
        }
        "reaction" => {
            let Some(r) = &request.reaction else {
                return Err(Error::field("reaction", "is required for a reaction"));
            };
            let message_id = r.message_id.parse::<MessageId>().unwrap_or(MessageId(0));
            fields.check(
                message_id.0 != 0,
                "reaction.message_id",
                "is not a message id",
            );
            fields.check(
                r.emoji.chars().count() <= 10,
                "reaction.emoji",
                "must be one emoji",
            );
            Outgoing::Reaction {
                message_id,
                emoji: r.emoji.clone(),
            }
        }
        kind if MEDIA_TYPES.contains(&kind) => {
            let media_id = request
                .media_id
                .as_deref()
                .and_then(|raw| raw.parse::<MediaId>().ok());
            fields.check(
                media_id.is_some(),
                "media_id",
                "must be the id of an uploaded file",
            );
            let caption = request.caption.clone().filter(|c| !c.trim().is_empty());
            fields.check(
                caption
                    .as_ref()
                    .is_none_or(|c| c.chars().count() <= MAX_CAPTION),
                "caption",
                "must be at most 1024 characters",
            );
            Outgoing::Media {
                kind: kind.to_string(),
                media_id: media_id.unwrap_or(MediaId(0)),
                caption,
            }
        }
        _ => {
            return Err(Error::field(
                "type",
                "must be text, image, audio, video, document, sticker, template, reaction or interactive",
            ))
        }
    };
    fields.finish()?;
    Ok(content)
}
