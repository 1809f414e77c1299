//! What an agent does to one message besides answering it: forward it to another chat
//! (text, or a copy of its file), marked as forwarded; pin it for the team.

use actix_web::{patch, post, web, HttpResponse};
use atende_actors::media::{media_path, write_media_file};
use atende_actors::messages::{Caller, Outgoing, PinMessage, SendReply};
use atende_data::{ChatStatus, MediaId, MediaRecord, MediaState, MessageId, Write};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::chats::{may_write, visible_chat};
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::views::{ErrorBody, MessageView};

/// The kinds of message that may be forwarded.
const FORWARDABLE: &[&str] = &["text", "image", "audio", "video", "document", "sticker"];

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(forward).service(change_message);
}

/// Where a message is forwarded.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    pub to_chat_id: String,
    /// As for any send: the same id again sends nothing more.
    pub client_id: String,
}

/// Forwards a text or media message to another chat the caller may write to; the copy is
/// marked `details.forwarded` with where it came from. Outside the target's 24-hour
/// window it is refused (422 `window_closed`), as any free-form message.
#[utoipa::path(tag = "messages", request_body = ForwardRequest, params(("id" = String, Path), ("message_id" = String, Path)), security(("bearer" = [])), responses(
    (status = 202, body = MessageView),
    (status = 200, body = MessageView, description = "this client_id was sent before"),
    (status = 403, description = "`not_chat_holder`: the target chat is someone else's", body = ErrorBody),
    (status = 409, description = "`chat_closed_write`: the target chat is closed", body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
#[post("/chats/{id}/messages/{message_id}/forward")]
async fn forward(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    body: Json<ForwardRequest>,
) -> Result<HttpResponse> {
    let (chat_id, message_id) = path.into_inner();
    let source = visible_chat(&state, &auth, &chat_id)?;
    let id: MessageId = message_id.parse().map_err(|_| Error::NotFound)?;
    let message = state.store.message(source.id, id)?.ok_or(Error::NotFound)?;
    let target = visible_chat(&state, &auth, &body.0.to_chat_id)
        .map_err(|_| Error::field("to_chat_id", "is not a chat you may write to"))?;
    let client_id = body.0.client_id.trim().to_string();
    if client_id.is_empty() || client_id.len() > 100 {
        return Err(Error::field("client_id", "must be 1 to 100 characters"));
    }
    // What the send would refuse is refused before a file is copied for it (the chat
    // actor checks again: this only spares the copy).
    if let Some(sent) = state.store.message_by_client_id(target.id, &client_id)? {
        return Ok(HttpResponse::Ok().json(MessageView::new(&sent, &state.store)));
    }
    may_write(&auth, &target)?;
    if target.status == ChatStatus::Closed {
        return Err(Error::Conflict(atende_data::refusals::CHAT_CLOSED_WRITE));
    }
    if !target.window_open(Utc::now()) {
        return Err(Error::WindowClosed);
    }
    let deleted = message
        .details
        .as_ref()
        .is_some_and(|d| d.get("deleted_at").is_some());
    if !FORWARDABLE.contains(&message.kind.as_str()) || deleted {
        return Err(Error::field(
            "message_id",
            "only a text or a file message can be forwarded",
        ));
    }
    let content = match &message.media {
        None => Outgoing::Text {
            text: message.text.clone().unwrap_or_default(),
            reply_to: None,
        },
        Some(media) => {
            let copy = copy_media(&state, &auth, media.id).await?;
            Outgoing::Media {
                kind: message.kind.clone(),
                media_id: copy,
                caption: message.caption.clone(),
            }
        }
    };
    let sent = state
        .hub
        .router
        .send(SendReply {
            chat_id: target.id,
            by: Caller::from(&auth.0),
            client_id,
            content,
            details: Some(json!({"forwarded": {
                "chat_id": source.id.to_string(),
                "message_id": message.id.to_string(),
            }})),
        })
        .await??;
    let view = MessageView::new(&sent.message, &state.store);
    Ok(if sent.created {
        HttpResponse::Accepted().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// A new file of the caller's with the bytes of `media` (a file belongs to one message).
async fn copy_media(state: &AppState, auth: &Auth, media: MediaId) -> Result<MediaId> {
    let original = state.store.media(media)?.ok_or(Error::NotFound)?;
    if original.state != MediaState::Ready {
        return Err(Error::field(
            "message_id",
            "its file is not downloaded yet; try again in a moment",
        ));
    }
    let _turn = state.files.acquire().await.map_err(Error::internal)?;
    let bytes = tokio::fs::read(media_path(&state.store, original.id))
        .await
        .map_err(Error::internal)?;
    let copy = MediaRecord {
        id: MediaId(state.store.new_id()?),
        chat_id: None,
        message_id: None,
        uploader: Some(auth.0.id),
        wa_media_id: None,
        state: MediaState::Ready,
        attempts: 0,
        created_at: Utc::now(),
        size: Some(bytes.len() as u64),
        ..original
    };
    write_media_file(&state.store, copy.id, bytes)
        .await
        .map_err(Error::internal)?;
    let mut write = Write::default();
    write.media(&copy);
    state.store.commit(write)?;
    Ok(copy.id)
}

/// What may change on a message.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageChange {
    /// Pinned for the team at the top of the conversation (`details.pinned: {by, at}`).
    pub pinned: bool,
}

/// Pins or unpins a message (whoever may see the chat).
#[utoipa::path(tag = "messages", request_body = MessageChange, params(("id" = String, Path), ("message_id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = MessageView),
))]
#[patch("/chats/{id}/messages/{message_id}")]
async fn change_message(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    body: Json<MessageChange>,
) -> Result<HttpResponse> {
    let (chat_id, message_id) = path.into_inner();
    let chat = visible_chat(&state, &auth, &chat_id)?;
    let id: MessageId = message_id.parse().map_err(|_| Error::NotFound)?;
    let message = state
        .hub
        .router
        .send(PinMessage {
            chat_id: chat.id,
            message_id: id,
            by: Caller::from(&auth.0),
            pinned: body.0.pinned,
        })
        .await??;
    Ok(HttpResponse::Ok().json(MessageView::new(&message, &state.store)))
}
