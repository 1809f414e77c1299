//! What an agent leaves for later: messages scheduled for a time (free text if the 24-hour
//! window is open then, else the template they picked, else nothing and the thread says
//! why), and chats snoozed until a time or the customer's next message.

use actix_web::{delete, get, post, web, HttpResponse};
use atende_actors::messages::{Caller, SnoozeChat};
use atende_actors::scheduled::CancelScheduled;
use atende_data::{ChatStatus, ScheduledId, ScheduledMessage, ScheduledState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::chats::{visible_chat, writable_chat};
use super::messages::TemplateRequest;
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{ChatView, ErrorBody, Page};

/// Longest text (the Cloud API's limit for a text message).
const MAX_TEXT: usize = 4096;
/// Messages waiting in one chat at most.
const MAX_PER_CHAT: usize = 50;
/// What a time that is not ahead (or not a time) is refused with.
const NOT_AHEAD: &str = "must be a time within the next year, such as 2026-12-24T09:00";
/// Pending messages listed at most.
const MAX_LISTED: usize = 1000;
/// How far ahead a message may be scheduled, or a chat snoozed.
const MAX_AHEAD: chrono::Duration = chrono::Duration::days(365);

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_pending)
        .service(schedule)
        .service(list_scheduled)
        .service(cancel)
        .service(snooze)
        .service(unsnooze);
}

/// A message for later.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScheduled {
    #[schema(max_length = 4096, pattern = r"\S")]
    pub text: String,
    /// RFC 3339, or a local time (`2026-12-24T09:00`) in the business hours' time zone.
    pub send_at: String,
    /// Sent instead when the 24-hour window has closed by then; without one, the message
    /// does not go out as free text outside the window: it fails, and the thread says so.
    pub template: Option<TemplateRequest>,
}

/// A scheduled message as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct ScheduledView {
    pub id: String,
    pub chat_id: String,
    pub by: String,
    pub text: String,
    #[schema(value_type = Option<Object>)]
    pub template: Option<serde_json::Value>,
    pub send_at: DateTime<Utc>,
    /// `pending`, `sent`, `failed` or `cancelled`.
    pub state: &'static str,
    /// Why it did not go out: `window_closed`, `not_chat_holder`, `chat_closed_write` ...
    pub reason: Option<String>,
    pub message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Who it goes to (in `GET /scheduled`, which lists several chats).
    pub contact_name: Option<String>,
}

impl From<&ScheduledMessage> for ScheduledView {
    fn from(m: &ScheduledMessage) -> Self {
        ScheduledView {
            id: m.id.to_string(),
            chat_id: m.chat_id.to_string(),
            by: m.by.to_string(),
            text: m.text.clone(),
            template: m.template.as_ref().map(|(name, language, components)| {
                serde_json::json!({"name": name, "language": language, "components": components})
            }),
            send_at: m.send_at,
            state: m.state.as_str(),
            reason: m.reason.clone(),
            message_id: m.message_id.map(|id| id.to_string()),
            created_at: m.created_at,
            contact_name: None,
        }
    }
}

/// A time ahead: RFC 3339, or a local date and time in the business's time zone; within a
/// year from now.
pub(crate) fn time_ahead(state: &AppState, text: &str) -> Option<DateTime<Utc>> {
    let timezone = state.store.settings().ok()?.business_hours.timezone.clone();
    let at = super::campaigns::start_time(text.trim(), &timezone)?;
    let now = Utc::now();
    (at > now && at - now <= MAX_AHEAD).then_some(at)
}

/// Schedules a message of the caller's in a chat they hold (staff: any open chat).
#[utoipa::path(tag = "chats", request_body = NewScheduled, params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 201, body = ScheduledView),
    (status = 409, description = "the chat is closed", body = ErrorBody),
))]
#[post("/chats/{id}/scheduled")]
async fn schedule(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: Json<NewScheduled>,
) -> Result<HttpResponse> {
    let chat = writable_chat(&state, &auth, &path)?;
    if chat.status == ChatStatus::Closed {
        return Err(Error::Conflict(atende_data::refusals::CHAT_CLOSED_WRITE));
    }
    let body = body.0;
    let mut fields = Fields::default();
    fields.text("text", &body.text, MAX_TEXT);
    let send_at = time_ahead(&state, &body.send_at);
    fields.check(send_at.is_some(), "send_at", NOT_AHEAD);
    if let Some(t) = &body.template {
        fields
            .text("template.name", &t.name, 512)
            .text("template.language", &t.language, 15);
        fields.check(
            t.components
                .as_ref()
                .is_none_or(serde_json::Value::is_array),
            "template.components",
            "must be an array",
        );
    }
    let waiting = state
        .store
        .scheduled_of(chat.id)?
        .iter()
        .filter(|m| m.state == ScheduledState::Pending)
        .count();
    fields.check(
        waiting < MAX_PER_CHAT,
        "send_at",
        "this chat has 50 messages waiting already",
    );
    fields.finish()?;
    let now = Utc::now();
    let message = ScheduledMessage {
        id: state.store.new_scheduled_id()?,
        chat_id: chat.id,
        by: auth.0.id,
        text: body.text.trim().to_string(),
        template: body.template.map(|t| {
            (
                t.name.trim().to_string(),
                t.language.trim().to_string(),
                t.components,
            )
        }),
        send_at: send_at.unwrap_or(now),
        state: ScheduledState::Pending,
        reason: None,
        message_id: None,
        created_at: now,
        updated_at: now,
    };
    state.store.put_scheduled(&message)?;
    state.store.durable().await?;
    tracing::info!(chat_id = %chat.id, by = %auth.0.id, "message scheduled");
    Ok(HttpResponse::Created().json(ScheduledView::from(&message)))
}

/// Scheduled messages waiting to go out, soonest first: the caller's own (staff: with
/// `everyone=true`, everybody's).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PendingQuery {
    pub everyone: Option<bool>,
}

/// The scheduled messages still waiting, across chats.
#[utoipa::path(tag = "chats", params(PendingQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<ScheduledView>),
))]
#[get("/scheduled")]
async fn list_pending(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<PendingQuery>,
) -> Result<HttpResponse> {
    let everyone = query.everyone.unwrap_or(false) && auth.0.role.is_staff();
    let store = state.store.clone();
    let me = auth.0.id;
    let items = web::block(move || -> Result<Vec<ScheduledView>> {
        Ok(store
            .pending_scheduled(MAX_LISTED)?
            .iter()
            .filter(|m| everyone || m.by == me)
            .map(|m| {
                let contact = store
                    .chat(m.chat_id)
                    .ok()
                    .flatten()
                    .and_then(|c| store.contact(c.contact_id).ok().flatten());
                ScheduledView {
                    contact_name: contact.and_then(|c| c.display_name().map(String::from)),
                    ..ScheduledView::from(m)
                }
            })
            .collect())
    })
    .await??;
    Ok(HttpResponse::Ok().json(Page::<ScheduledView>::whole(items)))
}

/// A chat's scheduled messages, oldest first (whoever may see the chat).
#[utoipa::path(tag = "chats", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Page<ScheduledView>),
))]
#[get("/chats/{id}/scheduled")]
async fn list_scheduled(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let chat = visible_chat(&state, &auth, &path)?;
    Ok(HttpResponse::Ok().json(Page::whole(
        state
            .store
            .scheduled_of(chat.id)?
            .iter()
            .map(ScheduledView::from),
    )))
}

/// Cancels a scheduled message that has not gone out (its author, or staff).
#[utoipa::path(tag = "chats", params(("id" = String, Path), ("scheduled_id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ScheduledView),
    (status = 409, description = "`scheduled_not_pending`", body = ErrorBody),
))]
#[delete("/chats/{id}/scheduled/{scheduled_id}")]
async fn cancel(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (chat_id, scheduled_id) = path.into_inner();
    let chat = visible_chat(&state, &auth, &chat_id)?;
    let id: ScheduledId = scheduled_id.parse().map_err(|_| Error::NotFound)?;
    let message = state.store.scheduled(chat.id, id)?.ok_or(Error::NotFound)?;
    if message.by != auth.0.id && !auth.0.role.is_staff() {
        return Err(Error::Forbidden(atende_data::refusals::NOT_HOLDER));
    }
    let cancelled = state
        .hub
        .scheduler
        .send(CancelScheduled {
            chat_id: chat.id,
            id,
        })
        .await??;
    Ok(HttpResponse::Ok().json(ScheduledView::from(&cancelled)))
}

/// How long a chat is put aside.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// RFC 3339, or a local time in the business hours' time zone; absent or null: until
    /// the customer's next message.
    pub until: Option<String>,
}

/// Puts an open chat aside (its holder, or staff): out of `?snoozed=false` lists until
/// the time, or until the customer writes, which always ends it.
#[utoipa::path(tag = "chats", request_body = SnoozeRequest, params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ChatView),
    (status = 409, description = "`chat_not_open`", body = ErrorBody),
))]
#[post("/chats/{id}/snooze")]
async fn snooze(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: Json<SnoozeRequest>,
) -> Result<HttpResponse> {
    let chat = writable_chat(&state, &auth, &path)?;
    let until = match body.0.until.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            Some(time_ahead(&state, text).ok_or_else(|| Error::field("until", NOT_AHEAD))?)
        }
    };
    set_snooze(&state, &auth, chat.id, Some(until)).await
}

/// Asks the chat's actor to snooze it (`Some`) or take it back (`None`); the chat after.
async fn set_snooze(
    state: &AppState,
    auth: &Auth,
    chat_id: atende_data::ChatId,
    until: Option<Option<DateTime<Utc>>>,
) -> Result<HttpResponse> {
    let chat = state
        .hub
        .router
        .send(SnoozeChat {
            chat_id,
            by: Caller::from(&auth.0),
            until,
        })
        .await??;
    Ok(HttpResponse::Ok().json(ChatView::new(&chat, &state.store)))
}

/// Takes a snoozed chat back at once.
#[utoipa::path(tag = "chats", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ChatView),
))]
#[delete("/chats/{id}/snooze")]
async fn unsnooze(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let chat = writable_chat(&state, &auth, &path)?;
    set_snooze(&state, &auth, chat.id, None).await
}
