//! Outgoing webhooks (admins): subscriptions of a URL to hub events, and each
//! subscription's delivery log with a redeliver action. Deliveries are made and sent by
//! the dispatcher (atende_actors::hooks); README's "Outgoing webhooks" tells a receiver
//! how to check their signature.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use atende_actors::hooks::{Redeliver, SubscriptionsChanged, HOOK_EVENTS};
use atende_data::records::integration::parse_delivery_id;
use atende_data::{Delivery, Subscription, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Admin;
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{page_cursor, page_limit, ErrorBody, Page};

const MAX_URL: usize = 2000;
const MAX_DESCRIPTION: usize = 200;
/// Subscriptions one install may have.
const MAX_SUBSCRIPTIONS: usize = 50;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_subscriptions)
        .service(create_subscription)
        .service(update_subscription)
        .service(delete_subscription)
        .service(list_deliveries)
        .service(redeliver);
}

/// A subscription as the API shows it (its secret only when made or rotated).
#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub url: String,
    /// The events it receives; `["*"]` for all.
    pub events: Vec<String>,
    pub description: Option<String>,
    /// False while turned off or paused.
    pub active: bool,
    /// `failing` when the hub paused it after every delivery failed for hours; set it
    /// active again to resume.
    pub paused_reason: Option<String>,
    /// Since when every attempt has failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// Deliveries waiting to go out.
    pub pending: usize,
    /// The bot whose chats' events it receives, for a bot's subscription.
    pub bot_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret: only in the answer that made or rotated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl SubscriptionView {
    fn new(s: &Subscription, state: &AppState) -> Result<Self> {
        Ok(SubscriptionView {
            id: s.id.to_string(),
            url: s.url.clone(),
            events: if s.events.is_empty() {
                vec!["*".into()]
            } else {
                s.events.clone()
            },
            description: s.description.clone(),
            active: s.active,
            paused_reason: s.paused_reason.clone(),
            failing_since: s.failing_since,
            pending: state.store.pending_deliveries_of(s.id)?,
            bot_id: s.bot_id.map(|b| b.to_string()),
            created_at: s.created_at,
            updated_at: s.updated_at,
            secret: None,
        })
    }

    fn with_secret(mut self, s: &Subscription) -> Self {
        self.secret = Some(s.secret.clone());
        self
    }
}

/// A new subscription.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// http or https; deliveries are POSTs of JSON, redirects are not followed.
    #[schema(
        max_length = 2000,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?(/[!-~]*)?$"
    )]
    pub url: String,
    /// Event names (`message.created`, `message.updated`, `chat.created`,
    /// `chat.assigned`, `chat.updated`, `chat.closed`, `contact.updated`,
    /// `csat.answered`), or `["*"]` for all.
    #[schema(min_items = 1, value_type = Vec<crate::views::HookEventName>)]
    pub events: Vec<String>,
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// A bot's token id: the subscription then receives only the events of the chats
    /// that bot holds (the customer's messages while it answers). Empty: none.
    #[schema(pattern = r"^\s*([0-9]{1,20})?\s*$")]
    pub bot_id: Option<String>,
}

/// Changes to a subscription.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    #[schema(
        max_length = 2000,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?(/[!-~]*)?$"
    )]
    pub url: Option<String>,
    #[schema(min_items = 1, value_type = Option<Vec<crate::views::HookEventName>>)]
    pub events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// False turns it off (no new deliveries); true resumes it, paused or not.
    pub active: Option<bool>,
    /// True: a new signing secret, returned in this answer only.
    pub rotate_secret: Option<bool>,
}

fn check_url(fields: &mut Fields, url: &str) {
    let parsed = reqwest::Url::parse(url.trim());
    fields.check(
        url.len() <= MAX_URL
            && parsed.is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()),
        "url",
        "must be an http or https URL",
    );
}

/// The events as stored (empty: all), or a field error.
fn check_events(fields: &mut Fields, events: &[String]) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for event in events {
        let event = event.trim().to_ascii_lowercase();
        if event == "*" {
            return Vec::new();
        }
        match HOOK_EVENTS.iter().find(|e| **e == event) {
            Some(e) if !kept.iter().any(|k| k == e) => kept.push(e.to_string()),
            Some(_) => {}
            None => {
                fields.check(
                    false,
                    "events",
                    "each must be an event this hub sends, or *",
                );
            }
        }
    }
    fields.check(
        !events.is_empty(),
        "events",
        "name at least one event, or *",
    );
    kept
}

/// Saves a subscription, tells the dispatcher, and audits the change as `action`.
async fn save(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    subscription: &Subscription,
    action: &str,
    detail: Option<String>,
) -> Result<()> {
    state.store.put_subscription(subscription)?;
    state.hub.hooks.send(SubscriptionsChanged).await?;
    let target = Some(subscription.id.to_string());
    super::audit::record(state, req, Some(admin.0.id), action, target, detail)
}

fn new_secret() -> String {
    format!("whsec_{}", hex::encode(atende_data::random_bytes(32)))
}

/// Every subscription (admins).
#[utoipa::path(tag = "integrations", security(("bearer" = [])), responses(
    (status = 200, body = Page<SubscriptionView>),
))]
#[get("/integrations/webhooks")]
async fn list_subscriptions(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse> {
    let items = state
        .store
        .subscriptions()?
        .iter()
        .map(|s| SubscriptionView::new(s, &state))
        .collect::<Result<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(Page::whole(items)))
}

/// Subscribes a URL to events (admins); the answer holds the signing secret, shown this
/// once. Events from now on are delivered.
#[utoipa::path(tag = "integrations", request_body = NewSubscription, security(("bearer" = [])), responses(
    (status = 201, body = SubscriptionView),
    (status = 409, description = "the install has as many subscriptions as it may", body = ErrorBody),
))]
#[post("/integrations/webhooks")]
async fn create_subscription(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: Json<NewSubscription>,
) -> Result<HttpResponse> {
    let body = body.0;
    let mut fields = Fields::default();
    check_url(&mut fields, &body.url);
    let events = check_events(&mut fields, &body.events);
    // An empty description, as a form sends it, is none.
    let description = body
        .description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    if let Some(description) = &description {
        fields.text("description", description, MAX_DESCRIPTION);
    }
    // An empty bot id, as a form sends it, is none.
    let bot_id = match body
        .bot_id
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        Some(raw) => {
            let id = raw.parse::<UserId>().ok();
            fields.check(id.is_some(), "bot_id", "must be a token's id");
            id
        }
        None => None,
    };
    fields.finish()?;
    if let Some(id) = bot_id {
        let bot = state.store.api_token(id)?.filter(|t| t.bot.is_some());
        if bot.is_none() {
            return Err(Error::unknown("bot_id", "is not the id of a bot's token"));
        }
    }
    if state.store.subscriptions()?.len() >= MAX_SUBSCRIPTIONS {
        return Err(Error::Conflict(
            atende_data::refusals::TOO_MANY_SUBSCRIPTIONS,
        ));
    }
    let now = Utc::now();
    let subscription = Subscription {
        id: state.store.integration_id()?,
        url: body.url.trim().to_string(),
        events,
        secret: new_secret(),
        description,
        active: true,
        paused_reason: None,
        failing_since: None,
        created_by: admin.0.id,
        created_at: now,
        updated_at: now,
        bot_id,
    };
    let detail = Some(subscription.url.clone());
    save(
        &state,
        &req,
        &admin,
        &subscription,
        "webhook.subscribed",
        detail,
    )
    .await?;
    let view = SubscriptionView::new(&subscription, &state)?.with_secret(&subscription);
    Ok(HttpResponse::Created().json(view))
}

/// Changes a subscription (admins): its URL, events, description; turns it off or
/// resumes it; rotates its secret (the new one is in this answer only).
#[utoipa::path(tag = "integrations", request_body = SubscriptionChange, params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = SubscriptionView),
))]
#[patch("/integrations/webhooks/{id}")]
async fn update_subscription(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<String>,
    body: Json<SubscriptionChange>,
) -> Result<HttpResponse> {
    let id: u64 = path.parse().map_err(|_| Error::NotFound)?;
    let mut subscription = state.store.subscription(id)?.ok_or(Error::NotFound)?;
    let change = body.0;
    let mut fields = Fields::default();
    if let Some(url) = &change.url {
        check_url(&mut fields, url);
    }
    let events = change
        .events
        .as_deref()
        .map(|e| check_events(&mut fields, e));
    let description = change
        .description
        .map(|d| d.map(|d| d.trim().to_string()).filter(|d| !d.is_empty()));
    if let Some(Some(description)) = &description {
        fields.text("description", description, MAX_DESCRIPTION);
    }
    fields.finish()?;
    if let Some(url) = change.url {
        subscription.url = url.trim().to_string();
    }
    if let Some(events) = events {
        subscription.events = events;
    }
    if let Some(description) = description {
        subscription.description = description;
    }
    if let Some(active) = change.active {
        subscription.active = active;
        subscription.paused_reason = None;
        if active {
            subscription.failing_since = None;
        }
    }
    let rotated = change.rotate_secret == Some(true);
    if rotated {
        subscription.secret = new_secret();
    }
    subscription.updated_at = Utc::now();
    let detail = rotated.then(|| "secret rotated".to_string());
    save(
        &state,
        &req,
        &admin,
        &subscription,
        "webhook.updated",
        detail,
    )
    .await?;
    let view = SubscriptionView::new(&subscription, &state)?;
    let view = if rotated {
        view.with_secret(&subscription)
    } else {
        view
    };
    Ok(HttpResponse::Ok().json(view))
}

/// Removes a subscription and its delivery log (admins).
#[utoipa::path(tag = "integrations", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "removed"),
))]
#[delete("/integrations/webhooks/{id}")]
async fn delete_subscription(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id: u64 = path.parse().map_err(|_| Error::NotFound)?;
    if !state.store.delete_subscription(id)? {
        return Err(Error::NotFound);
    }
    state.hub.hooks.send(SubscriptionsChanged).await?;
    super::audit::record(
        &state,
        &req,
        Some(admin.0.id),
        "webhook.deleted",
        Some(id.to_string()),
        None,
    )?;
    Ok(HttpResponse::NoContent().finish())
}

/// One try at a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; null when it could not be reached.
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The start of the receiver's answer, or why there was none.
    pub response_excerpt: String,
}

/// A delivery as its log shows it.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// Sent as `X-Atende-Delivery` and in the body's `id`: the same on every attempt.
    pub id: String,
    pub event: String,
    /// `pending`, `delivered` or `failed` (retries ran out; redeliver to send it again).
    pub state: &'static str,
    pub attempts: u32,
    /// When the next attempt goes, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The newest attempts, newest first.
    pub log: Vec<AttemptView>,
    /// The body as sent.
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        DeliveryView {
            id: d.id(),
            event: d.event.clone(),
            state: d.state.as_str(),
            attempts: d.attempts,
            next_attempt_at: (d.state == atende_data::DeliveryState::Pending)
                .then_some(d.next_attempt_at),
            created_at: d.created_at,
            log: d
                .log
                .iter()
                .rev()
                .map(|a| AttemptView {
                    at: a.at,
                    status: a.status,
                    latency_ms: a.latency_ms,
                    response_excerpt: a.excerpt.clone(),
                })
                .collect(),
            payload: serde_json::from_str(&d.body).unwrap_or(Value::Null),
        }
    }
}

/// Paging of a delivery log.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(pattern = r"^[0-9]{1,19}$")]
    pub cursor: Option<String>,
}

/// A subscription's deliveries, newest first (admins).
#[utoipa::path(tag = "integrations", params(("id" = String, Path), DeliveryQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<DeliveryView>),
))]
#[get("/integrations/webhooks/{id}/deliveries")]
async fn list_deliveries(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse> {
    let id: u64 = path.parse().map_err(|_| Error::NotFound)?;
    state.store.subscription(id)?.ok_or(Error::NotFound)?;
    let limit = page_limit(query.limit)?;
    let before: Option<u64> = page_cursor(query.cursor.as_deref())?;
    let mut deliveries = state.store.deliveries_page(id, before, limit + 1)?;
    let more = deliveries.len() > limit;
    deliveries.truncate(limit);
    let next_cursor = more
        .then(|| deliveries.last().map(|d| d.seq.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page {
        items: deliveries.iter().map(DeliveryView::from).collect(),
        next_cursor,
    }))
}

/// Sends a delivery again now, with the same id (admins).
#[utoipa::path(tag = "integrations", params(("id" = String, Path), ("delivery" = String, Path)), security(("bearer" = [])), responses(
    (status = 202, body = DeliveryView),
))]
#[post("/integrations/webhooks/{id}/deliveries/{delivery}/redeliver")]
async fn redeliver(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (id, delivery) = path.into_inner();
    let id: u64 = id.parse().map_err(|_| Error::NotFound)?;
    let (subscription, seq) = parse_delivery_id(&delivery).ok_or(Error::NotFound)?;
    if subscription != id {
        return Err(Error::NotFound);
    }
    state
        .hub
        .hooks
        .send(Redeliver { subscription, seq })
        .await??;
    let delivery = state.store.delivery(id, seq)?.ok_or(Error::NotFound)?;
    super::audit::record(
        &state,
        &req,
        Some(admin.0.id),
        "webhook.redelivered",
        Some(delivery.id()),
        None,
    )?;
    Ok(HttpResponse::Accepted().json(DeliveryView::from(&delivery)))
}
