//! Chats: the lists agents work from, and "Assumir", transfer, "Finalizar", reopen, read,
//! tags and queue, internal notes. Changes go to the chat's actor; reads come from the
//! store's indexes.

use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use atende_actors::messages::*;
use atende_data::{AssigneeFilter, Chat, ChatFilter, ChatId, ChatStatus, UserId, Visibility};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{page_limit, ErrorBody, Page};
use crate::views::{ChatView, MessageView};

/// Longest close note or internal note.
pub const MAX_NOTE: usize = 4096;
/// Most tags on a chat, and the longest tag.
const MAX_TAGS: usize = 20;
const MAX_TAG: usize = 32;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_chats)
        .service(get_chat)
        .service(claim)
        .service(transfer)
        .service(handoff)
        .service(close)
        .service(reopen)
        .service(mark_read)
        .service(update_chat)
        .service(add_note);
}

/// Filters of the chat list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChatQuery {
    /// pending, open, closed or bot (any case).
    #[param(value_type = Option<crate::views::ChatStatusName>)]
    pub status: Option<String>,
    /// `me`, `none`, or a user id.
    #[param(pattern = r"^(me|none|[0-9]{1,20})$")]
    pub assignee: Option<String>,
    pub queue: Option<String>,
    pub tag: Option<String>,
    /// Contact name, number or message text.
    pub q: Option<String>,
    /// Only chats put aside (true), or only those not (false).
    pub snoozed: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(pattern = r"^([0-9a-fA-F]{2}){1,200}$")]
    pub cursor: Option<String>,
}

/// Lists chats: newest activity first; pending chats oldest first with `status=pending`.
/// Agents see their own chats and the pending chats of their queues.
#[utoipa::path(tag = "chats", params(ChatQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<ChatView>),
))]
#[get("/chats")]
async fn list_chats(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ChatQuery>,
) -> Result<HttpResponse> {
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let status = match query.status.as_deref() {
        Some(word) => Some(
            ChatStatus::parse(&word.trim().to_ascii_lowercase())
                .ok_or_else(|| Error::field("status", "must be pending, open, closed or bot"))?,
        ),
        None => None,
    };
    let assignee = match query.assignee.as_deref() {
        None => AssigneeFilter::Any,
        Some("me") => AssigneeFilter::User(auth.0.id),
        Some("none") => AssigneeFilter::Nobody,
        Some(id) => AssigneeFilter::User(
            id.parse::<UserId>()
                .map_err(|_| Error::field("assignee", "must be me, none or a user id"))?,
        ),
    };
    let cursor = match query.cursor {
        Some(c) => Some(
            hex::decode(c)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| Error::field("cursor", "is not a cursor of this list"))?,
        ),
        None => None,
    };
    let filter = ChatFilter {
        status,
        assignee,
        queue: query.queue,
        tag: query.tag,
        search: query.q,
        visible_to: visibility(&auth),
        snoozed: query.snoozed,
        cursor,
        limit,
    };
    let store = state.store.clone();
    let page = web::block(move || store.chats(&filter)).await??;
    Ok(HttpResponse::Ok().json(Page {
        items: page
            .chats
            .iter()
            .map(|c| ChatView::new(c, &state.store))
            .collect(),
        next_cursor: page.next_cursor.map(hex::encode),
    }))
}

/// What an agent may see; staff see everything.
pub fn visibility(auth: &Auth) -> Option<Visibility> {
    (!auth.0.role.is_staff()).then(|| Visibility {
        user: auth.0.id,
        queues: auth.0.queue_ids.clone(),
    })
}

/// A chat the caller may see, or 404.
pub fn visible_chat(state: &AppState, auth: &Auth, raw_id: &str) -> Result<Chat> {
    let id: ChatId = raw_id.parse().map_err(|_| Error::NotFound)?;
    let chat = state.store.chat(id)?.ok_or(Error::NotFound)?;
    match visibility(auth) {
        Some(v) if !v.allows(&chat) => Err(Error::NotFound),
        _ => Ok(chat),
    }
}

/// The chat, if the caller may write to it: theirs, or any for staff.
pub(crate) fn writable_chat(state: &AppState, auth: &Auth, id: &str) -> Result<Chat> {
    let chat = visible_chat(state, auth, id)?;
    may_write(auth, &chat)?;
    Ok(chat)
}

/// Whether the caller may write to `chat`, which they may see: it is theirs, or they are
/// staff (the chat actor's rule, checked before work the actor would refuse).
pub(crate) fn may_write(auth: &Auth, chat: &Chat) -> Result<()> {
    if auth.0.role.is_staff() || chat.assignee == Some(auth.0.id) {
        Ok(())
    } else {
        Err(Error::Forbidden(atende_data::refusals::NOT_HOLDER))
    }
}

/// One chat.
#[utoipa::path(tag = "chats", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = ChatView),
))]
#[get("/chats/{id}")]
async fn get_chat(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let chat = visible_chat(&state, &auth, &path)?;
    Ok(HttpResponse::Ok().json(ChatView::new(&chat, &state.store)))
}

fn chat_id(raw: &str) -> Result<ChatId> {
    raw.parse().map_err(|_| Error::NotFound)
}

async fn respond(
    state: &AppState,
    result: Result<Chat, atende_actors::Error>,
) -> Result<HttpResponse> {
    let chat = result?;
    Ok(HttpResponse::Ok().json(ChatView::new(&chat, &state.store)))
}

/// Answers with the chat and records the action in the audit log.
async fn respond_audited(
    state: &AppState,
    req: &HttpRequest,
    auth: &Auth,
    action: &str,
    result: Result<Chat, atende_actors::Error>,
) -> Result<HttpResponse> {
    let chat = result?;
    let detail = chat
        .assignee
        .map(|a| format!("assignee {a}"))
        .or_else(|| chat.queue_id.as_ref().map(|q| format!("queue {q}")));
    super::audit::record(
        state,
        req,
        Some(auth.0.id),
        action,
        Some(chat.id.to_string()),
        detail,
    )?;
    Ok(HttpResponse::Ok().json(ChatView::new(&chat, &state.store)))
}

/// "Assumir": the caller takes the chat; 409 when someone else holds it (404 to an agent
/// who could not have seen it waiting).
#[utoipa::path(tag = "chats", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = ChatView),
    (status = 404, description = "no such chat, or not one the caller may see", body = ErrorBody),
    (status = 409, description = "another agent holds it, or it is closed", body = ErrorBody),
))]
#[post("/chats/{id}/claim")]
async fn claim(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let msg = ClaimChat {
        chat_id: chat_id(&path)?,
        by: Caller::from(&auth.0),
    };
    let result = state.hub.router.send(msg).await?;
    respond_audited(&state, &req, &auth, "chat.claimed", result).await
}

/// Where to transfer a chat: to an agent or to a queue.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TransferRequest {
    ToUser(ToUser),
    ToQueue(ToQueue),
}

/// To an agent: the chat is open, theirs.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToUser {
    #[schema(pattern = r"^\s*[0-9]{1,20}\s*$")]
    pub user_id: String,
}

/// To a queue: the chat waits there.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToQueue {
    #[schema(max_length = 64, pattern = r"\S")]
    pub queue_id: String,
}

/// Hands the chat to an agent (open, theirs) or to a queue (pending there).
#[utoipa::path(tag = "chats", request_body = TransferRequest, security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = ChatView),
))]
#[post("/chats/{id}/transfer")]
async fn transfer(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    path: web::Path<String>,
    body: Json<TransferRequest>,
) -> Result<HttpResponse> {
    let to = match body.0 {
        TransferRequest::ToUser(ToUser { user_id }) => TransferTarget::User(
            user_id
                .trim()
                .parse()
                .map_err(|_| Error::field("user_id", "must be a user's id"))?,
        ),
        TransferRequest::ToQueue(ToQueue { queue_id }) => {
            let queue = queue_id.trim();
            if queue.is_empty() || queue_id.len() > 64 {
                return Err(Error::field("queue_id", "must be a queue id"));
            }
            TransferTarget::Queue(queue.to_string())
        }
    };
    let msg = TransferChat {
        chat_id: chat_id(&path)?,
        by: Caller::from(&auth.0),
        to,
    };
    let result = state.hub.router.send(msg).await?;
    respond_audited(&state, &req, &auth, "chat.transferred", result).await
}

/// A bot hands its chat to the people.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffRequest {
    /// The queue the chat waits in; null: no queue (every agent may take it).
    pub queue_id: Option<String>,
    /// For the agent who takes it (an internal note, never sent to the customer).
    pub note: Option<String>,
}

/// A bot's chat goes to a queue and waits there like any other, its transcript in the
/// thread; the bot's `note` becomes an internal note. For the bot holding the chat (an API
/// token with `chats:write`), staff or an admin token.
#[utoipa::path(tag = "chats", request_body = HandoffRequest, security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = ChatView),
    (status = 409, description = "`chat_not_with_bot`: no bot holds the chat", body = ErrorBody),
))]
#[post("/chats/{id}/handoff")]
async fn handoff(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    path: web::Path<String>,
    body: Json<HandoffRequest>,
) -> Result<HttpResponse> {
    let body = body.0;
    let queue_id = body
        .queue_id
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty());
    if let Some(queue) = &queue_id {
        super::queues::known_queue(&state, "queue_id", queue)?;
    }
    let note = body
        .note
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > super::messages::MAX_TEXT)
    {
        return Err(Error::field("note", "must be at most 4096 characters"));
    }
    let msg = HandOff {
        chat_id: chat_id(&path)?,
        by: Some(Caller::from(&auth.0)),
        queue_id,
        note,
    };
    let result = state.hub.router.send(msg).await?;
    respond_audited(&state, &req, &auth, "chat.handed_off", result).await
}

/// "Finalizar" with an optional note.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    pub note: Option<String>,
}

/// Closes the chat.
#[utoipa::path(tag = "chats", request_body = CloseRequest, security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = ChatView),
))]
#[post("/chats/{id}/close")]
async fn close(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    path: web::Path<String>,
    body: Json<CloseRequest>,
) -> Result<HttpResponse> {
    let note = body.0.note.filter(|n| !n.trim().is_empty());
    Fields::default()
        .check(
            note.as_ref().is_none_or(|n| n.chars().count() <= MAX_NOTE),
            "note",
            "must be at most 4096 characters",
        )
        .finish()?;
    let msg = CloseChat {
        chat_id: chat_id(&path)?,
        by: Caller::from(&auth.0),
        note,
    };
    let result = state.hub.router.send(msg).await?;
    respond_audited(&state, &req, &auth, "chat.closed", result).await
}

/// Reopens a closed chat, assigned to the caller.
#[utoipa::path(tag = "chats", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = ChatView),
    (status = 409, description = "`chat_not_closed`", body = ErrorBody),
))]
#[post("/chats/{id}/reopen")]
async fn reopen(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let msg = ReopenChat {
        chat_id: chat_id(&path)?,
        by: Caller::from(&auth.0),
    };
    let result = state.hub.router.send(msg).await?;
    respond_audited(&state, &req, &auth, "chat.reopened", result).await
}

/// Marks the chat read and sends the read receipt to WhatsApp.
#[utoipa::path(tag = "chats", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = ChatView),
))]
#[post("/chats/{id}/read")]
async fn mark_read(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let msg = MarkChatRead {
        chat_id: chat_id(&path)?,
        by: Caller::from(&auth.0),
    };
    let result = state.hub.router.send(msg).await?;
    respond(&state, result).await
}

/// Tags and queue of a chat.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatChange {
    /// Up to 20 tags; a tag given twice is kept once.
    #[schema(max_items = 20, value_type = Option<Vec<crate::views::TagName>>)]
    pub tags: Option<Vec<String>>,
    /// A queue id, or null for none.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    pub queue_id: Option<Option<String>>,
}

/// Changes tags or queue.
#[utoipa::path(tag = "chats", request_body = ChatChange, security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = ChatView),
))]
#[patch("/chats/{id}")]
async fn update_chat(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: Json<ChatChange>,
) -> Result<HttpResponse> {
    let change = body.0;
    let given = change.tags.as_ref().map_or(0, Vec::len);
    let tags = change.tags.map(|tags| {
        let mut tags: Vec<String> = tags.into_iter().map(|t| t.trim().to_string()).collect();
        tags.sort();
        tags.dedup();
        tags
    });
    Fields::default()
        .check(given <= MAX_TAGS, "tags", "may hold at most 20 tags")
        .check(
            tags.as_ref().is_none_or(|t| {
                t.iter()
                    .all(|t| !t.is_empty() && t.chars().count() <= MAX_TAG)
            }),
            "tags",
            "must be non-empty tags of at most 32 characters",
        )
        .check(
            change.queue_id.as_ref().is_none_or(|q| {
                q.as_ref()
                    .is_none_or(|q| !q.trim().is_empty() && q.len() <= 64)
            }),
            "queue_id",
            "must be a queue id or null",
        )
        .finish()?;
    let msg = UpdateChat {
        chat_id: chat_id(&path)?,
        by: Caller::from(&auth.0),
        tags,
        queue_id: change.queue_id,
    };
    let result = state.hub.router.send(msg).await?;
    respond(&state, result).await
}

/// An internal note.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    #[schema(max_length = 4096, pattern = r"\S")]
    pub text: String,
}

/// Adds an internal note: shown to the team in the conversation, never sent to WhatsApp.
#[utoipa::path(tag = "chats", request_body = NoteRequest, security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 201, body = MessageView),
))]
#[post("/chats/{id}/notes")]
async fn add_note(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: Json<NoteRequest>,
) -> Result<HttpResponse> {
    Fields::default()
        .text("text", &body.0.text, MAX_NOTE)
        .finish()?;
    let msg = AddNote {
        chat_id: chat_id(&path)?,
        by: Caller::from(&auth.0),
        text: body.0.text,
    };
    let note = state.hub.router.send(msg).await??;
    Ok(HttpResponse::Created().json(MessageView::new(&note, &state.store)))
}
