//! Queues (departments) and the live view of them: pending chats per queue with the
//! longest wait, and every agent's presence and load.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use atende_actors::assign::live_queues;
use atende_data::Queue;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Admin, Auth, Staff};
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{ErrorBody, Page};

/// Longest queue id and name.
const MAX_ID: usize = 64;
const MAX_NAME: usize = 60;
/// Longest queue greeting (WhatsApp's text limit).
const MAX_GREETING: usize = 4096;
/// The colours a queue made without one takes, in turn.
const PALETTE: [&str; 6] = [
    "#25d366", "#34b7f1", "#f5a623", "#9b59b6", "#e74c3c", "#1abc9c",
];

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_queues)
        .service(live)
        .service(create_queue)
        .service(update_queue)
        .service(delete_queue);
}

/// A queue.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueBody {
    /// A slug: lower-case letters, digits, `-` and `_`; made from the name when left out.
    #[serde(default)]
    #[schema(pattern = r"^\s*[a-z0-9_-]{1,64}\s*$")]
    pub id: Option<String>,
    #[schema(max_length = 60, pattern = r"\S")]
    pub name: String,
    /// #RRGGBB; one of the console's palette when left out.
    #[serde(default)]
    #[schema(pattern = r"^\s*(#[0-9A-Fa-f]{6})?\s*$")]
    pub color: String,
    pub greeting: Option<String>,
    /// The business numbers whose customers it serves (empty or left out: every number).
    #[serde(default)]
    pub number_ids: Vec<String>,
    /// The longest wait the supervisors' board accepts before it shows the queue red
    /// (null or left out: none).
    #[serde(default)]
    #[schema(minimum = 60, maximum = 86400)]
    pub sla_wait_seconds: Option<u32>,
}

/// Changes to a queue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueChange {
    #[schema(max_length = 60, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(pattern = r"^\s*#[0-9A-Fa-f]{6}\s*$")]
    pub color: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    pub greeting: Option<Option<String>>,
    /// The business numbers it serves (empty: every number).
    pub number_ids: Option<Vec<String>>,
    /// `null` takes the threshold away.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<u32>, minimum = 60, maximum = 86400)]
    pub sla_wait_seconds: Option<Option<u32>>,
}

fn view(queue: &Queue) -> QueueBody {
    QueueBody {
        id: Some(queue.id.clone()),
        name: queue.name.clone(),
        color: queue.color.clone(),
        greeting: queue.greeting.clone(),
        number_ids: queue.number_ids.clone(),
        sla_wait_seconds: queue.sla_wait_seconds,
    }
}

/// A wait threshold of a minute to a day.
fn check_sla(fields: &mut Fields, sla: Option<u32>) {
    fields.check(
        sla.is_none_or(|s| (60..=86_400).contains(&s)),
        "sla_wait_seconds",
        "must be 60 to 86400 seconds",
    );
}

/// Refuses a queue id `field` gives that names no queue (409 `unknown_reference`).
pub fn known_queue(state: &AppState, field: &str, id: &str) -> Result<()> {
    match state.store.queue(id)? {
        Some(_) => Ok(()),
        None => Err(Error::unknown(field, "is not a queue")),
    }
}

/// Every id in `numbers` names a configured business number (409 `unknown_reference`).
fn known_numbers(state: &AppState, numbers: &[String]) -> Result<()> {
    let known = state.store.numbers()?;
    if numbers.iter().all(|n| known.iter().any(|k| &k.id == n)) {
        Ok(())
    } else {
        Err(Error::unknown(
            "number_ids",
            "must be ids of configured business numbers",
        ))
    }
}

/// A free queue id made from `name`: lower-case, accents folded, other signs as `-`.
fn slug_for(state: &AppState, name: &str) -> Result<String> {
    let folded = atende_data::search::fold(name.trim());
    let mut slug = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let base: String = slug
        .trim_end_matches('-')
        .chars()
        .take(MAX_ID - 4)
        .collect();
    let base = if base.is_empty() {
        "fila".to_string()
    } else {
        base
    };
    let mut id = base.clone();
    let mut n = 2;
    while state.store.queue(&id)?.is_some() {
        id = format!("{base}-{n}");
        n += 1;
    }
    Ok(id)
}

fn check(fields: &mut Fields, name: Option<&str>, color: Option<&str>, greeting: Option<&str>) {
    if let Some(name) = name {
        fields.text("name", name, MAX_NAME);
    }
    if let Some(color) = color {
        let hex = color
            .strip_prefix('#')
            .filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()));
        fields.check(hex.is_some(), "color", "must be a colour as #RRGGBB");
    }
    if let Some(greeting) = greeting {
        fields.text("greeting", greeting, MAX_GREETING);
    }
}

/// Every queue (any signed-in user may read them).
#[utoipa::path(tag = "queues", security(("bearer" = [])), responses((status = 200, body = Page<QueueBody>)))]
#[get("/queues")]
async fn list_queues(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(Page::whole(state.store.queues()?.iter().map(view))))
}

/// Creates a queue.
#[utoipa::path(tag = "queues", request_body = QueueBody, security(("bearer" = [])), responses(
    (status = 201, body = QueueBody),
    (status = 409, description = "the id is taken", body = ErrorBody),
))]
#[post("/queues")]
async fn create_queue(
    state: web::Data<AppState>,
    _admin: Admin,
    body: Json<QueueBody>,
) -> Result<HttpResponse> {
    let body = body.0;
    let mut fields = Fields::default();
    let id = match body.id.as_deref().map(str::trim) {
        Some(id) => id.to_string(),
        None => slug_for(&state, &body.name)?,
    };
    let slug = !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    fields.check(
        slug,
        "id",
        "must be 1 to 64 lower-case letters, digits, - or _",
    );
    let color = match body.color.trim() {
        "" => PALETTE[state.store.queues()?.len() % PALETTE.len()].to_string(),
        color => color.to_lowercase(),
    };
    // An empty greeting, as a form sends it, is none.
    let greeting = body.greeting.filter(|g| !g.trim().is_empty());
    check(
        &mut fields,
        Some(&body.name),
        Some(&color),
        greeting.as_deref(),
    );
    check_sla(&mut fields, body.sla_wait_seconds);
    fields.finish()?;
    known_numbers(&state, &body.number_ids)?;
    let queue = Queue {
        id,
        name: body.name.trim().to_string(),
        color,
        greeting,
        created_at: Utc::now(),
        number_ids: body.number_ids,
        sla_wait_seconds: body.sla_wait_seconds,
    };
    state.store.create_queue(&queue)?;
    state.store.durable().await?;
    Ok(HttpResponse::Created().json(view(&queue)))
}

/// Changes a queue.
#[utoipa::path(tag = "queues", request_body = QueueChange, security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = QueueBody),
))]
#[patch("/queues/{id}")]
async fn update_queue(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    body: Json<QueueChange>,
) -> Result<HttpResponse> {
    let mut change = body.0;
    change.color = change.color.map(|color| color.trim().to_lowercase());
    change.greeting = change.greeting.map(|g| g.filter(|g| !g.trim().is_empty()));
    let mut fields = Fields::default();
    check(
        &mut fields,
        change.name.as_deref(),
        change.color.as_deref(),
        change.greeting.as_ref().and_then(|g| g.as_deref()),
    );
    check_sla(&mut fields, change.sla_wait_seconds.flatten());
    fields.finish()?;
    if let Some(numbers) = &change.number_ids {
        known_numbers(&state, numbers)?;
    }
    let mut queue = state.store.queue(&path)?.ok_or(Error::NotFound)?;
    if let Some(name) = change.name {
        queue.name = name.trim().to_string();
    }
    if let Some(color) = change.color {
        queue.color = color;
    }
    if let Some(greeting) = change.greeting {
        queue.greeting = greeting;
    }
    if let Some(numbers) = change.number_ids {
        queue.number_ids = numbers;
    }
    if let Some(sla) = change.sla_wait_seconds {
        queue.sla_wait_seconds = sla;
    }
    state.store.put_queue(&queue)?;
    state.store.durable().await?;
    Ok(HttpResponse::Ok().json(view(&queue)))
}

/// Deletes a queue; its chats keep the id and show as "no longer a queue".
#[utoipa::path(tag = "queues", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 204, description = "deleted"),
))]
#[delete("/queues/{id}")]
async fn delete_queue(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    if !state.store.delete_queue(&path)? {
        return Err(Error::NotFound);
    }
    state.store.durable().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Supervisors' live view: pending chats per queue with the oldest wait, and every
/// active user's presence and open chats.
#[utoipa::path(tag = "queues", security(("bearer" = [])), responses(
    (status = 200, description = "`{queues: [{queue_id, name, pending, oldest_since}], agents: [{user_id, name, role, presence, open_chats, max_concurrent_chats, queue_ids}]}`"),
))]
#[get("/queues/live")]
async fn live(state: web::Data<AppState>, _staff: Staff) -> Result<HttpResponse> {
    let hub = state.hub.clone();
    let view = web::block(move || live_queues(&hub.store, &hub.board)).await??;
    Ok(HttpResponse::Ok().json(view))
}
