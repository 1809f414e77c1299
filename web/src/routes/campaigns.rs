//! Campaigns: an approved template to an audience of contacts, from one business number,
//! each contact at most once (docs/ARCHITECTURE.md, "Campaigns"). Staff make, start,
//! pause, resume and cancel them, and follow every send.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use atende_data::{
    refusals, Audience, Campaign, CampaignId, CampaignStatus, CampaignTemplate, ContactId,
    SendCounts, SendState,
};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Staff;
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::{Fields, MAX_NAME};
use crate::views::{page_cursor, page_limit, ErrorBody, Page};

/// Meta's list price per delivered template message to Brazil, in US dollars (rate card
/// effective 2026-10-01), by template category: the estimate shown before a start.
const PRICES: &[(&str, f64)] = &[
    ("MARKETING", 0.0625),
    ("UTILITY", 0.0068),
    ("AUTHENTICATION", 0.0068),
];
/// Most variables a template body takes here.
const MAX_VARIABLES: usize = 20;
/// Most contacts named one by one in an audience.
const MAX_LISTED: usize = 100_000;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_campaigns)
        .service(create_campaign)
        .service(get_campaign)
        .service(campaign_sends)
        .service(start_campaign)
        .service(pause_campaign)
        .service(resume_campaign)
        .service(cancel_campaign);
}

/// Who a new campaign is for: contacts of its number with any of the labels, holding the
/// field values, among the contacts named (when any are); never the opted-out ones or
/// those without a phone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceBody {
    #[serde(default)]
    pub labels: Vec<String>,
    /// Field key -> value (as `GET /contacts?field=` takes it).
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
    /// Contacts by id, phone (any form) or BSUID, e.g. the rows of a CSV.
    #[serde(default)]
    pub contacts: Vec<String>,
}

/// The template of a new campaign: an approved one of the business account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateChoice {
    pub name: String,
    pub language: String,
}

/// A new campaign (a draft until started).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    #[schema(max_length = 100, pattern = r"\S")]
    pub name: String,
    /// The number it sends from (needed when the hub has several).
    pub phone_number_id: Option<String>,
    pub template: TemplateChoice,
    /// One text per `{{n}}` of the template's body: `{{contact.name}}`,
    /// `{{contact.first_name}}`, `{{contact.phone}}`, `{{field.KEY}}` stand for the
    /// contact's values, `{{contact.name|cliente}}` gives a fallback.
    #[serde(default)]
    pub variables: Vec<String>,
    #[serde(default = "no_audience")]
    pub audience: AudienceBody,
    /// The queue whose agents get the replies.
    pub queue_id: Option<String>,
    /// When it starts once started: RFC 3339, or a local time (`2026-12-24T09:00`) in the
    /// business hours' time zone. Absent: at once.
    pub start_at: Option<String>,
    /// Sends per second at most (default: half the number's rate, the rest is left to the
    /// agents' replies).
    #[schema(minimum = 1, maximum = 1000)]
    pub rate: Option<u32>,
}

fn no_audience() -> AudienceBody {
    AudienceBody {
        labels: Vec::new(),
        fields: Default::default(),
        contacts: Vec::new(),
    }
}

/// What a campaign would reach before it starts, and what that costs.
#[derive(Serialize, ToSchema)]
pub struct Preview {
    /// Contacts it would send to now.
    pub audience: u64,
    /// Matching contacts left out: they opted out of marketing messages.
    pub opted_out: u64,
    /// Matching contacts left out: no phone (known only by a WhatsApp username).
    pub no_phone: u64,
    /// Meta's list price per delivered message of the template's category (Brazil).
    pub price_per_message: f64,
    pub estimated_cost: f64,
    pub currency: &'static str,
}

/// A campaign as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub phone_number_id: String,
    #[schema(value_type = Object)]
    pub template: Value,
    pub variables: Vec<String>,
    #[schema(value_type = Object)]
    pub audience: Value,
    pub queue_id: Option<String>,
    pub start_at: Option<DateTime<Utc>>,
    /// Sends per second.
    pub rate: Option<u32>,
    /// `draft`, `scheduled`, `running`, `paused`, `done` or `cancelled`.
    pub status: &'static str,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The sends by how far they got (a read one counts as sent and delivered too).
    #[schema(value_type = Object)]
    pub counts: SendCounts,
    /// Before it starts: whom it would reach and the estimated cost.
    pub preview: Option<Preview>,
}

impl CampaignView {
    fn new(c: &Campaign, store: &atende_data::Store, with_preview: bool) -> Result<Self> {
        let counts = store.campaign_counts(c.id)?;
        let preview = if with_preview && c.started_at.is_none() {
            let size = store.audience_size(c)?;
            let price = PRICES
                .iter()
                .find(|(category, _)| category.eq_ignore_ascii_case(&c.template.category))
                .map_or(0.0, |(_, price)| *price);
            Some(Preview {
                audience: size.included,
                opted_out: size.opted_out,
                no_phone: size.no_phone,
                price_per_message: price,
                estimated_cost: (price * size.included as f64 * 10_000.0).round() / 10_000.0,
                currency: "USD",
            })
        } else {
            None
        };
        Ok(CampaignView {
            id: c.id.to_string(),
            name: c.name.clone(),
            phone_number_id: c.phone_number_id.clone(),
            template: serde_json::json!({
                "name": c.template.name,
                "language": c.template.language,
                "category": c.template.category,
                "body": c.template.body,
            }),
            variables: c.variables.clone(),
            audience: serde_json::json!({
                "labels": c.audience.labels,
                "fields": c.audience.fields.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                "contacts": c.audience.contact_ids.len(),
            }),
            queue_id: c.queue_id.clone(),
            start_at: c.start_at,
            rate: c.rate,
            status: c.status.as_str(),
            created_by: c.created_by.to_string(),
            created_at: c.created_at,
            started_at: c.started_at,
            finished_at: c.finished_at,
            counts,
            preview,
        })
    }
}

/// Every campaign, newest first (staff).
#[utoipa::path(tag = "campaigns", security(("bearer" = [])), responses(
    (status = 200, body = Page<CampaignView>),
))]
#[get("/campaigns")]
async fn list_campaigns(state: web::Data<AppState>, _staff: Staff) -> Result<HttpResponse> {
    let store = state.store.clone();
    let items = web::block(move || -> Result<Vec<CampaignView>> {
        store
            .campaigns()?
            .iter()
            .map(|c| CampaignView::new(c, &store, false))
            .collect()
    })
    .await??;
    Ok(HttpResponse::Ok().json(Page::<CampaignView>::whole(items)))
}

/// Makes a draft campaign (staff); the answer previews its audience and cost.
#[utoipa::path(tag = "campaigns", request_body = NewCampaign, security(("bearer" = [])), responses(
    (status = 201, body = CampaignView),
    (status = 503, description = "the template list cannot be fetched", body = ErrorBody),
))]
#[post("/campaigns")]
async fn create_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    staff: Staff,
    body: Json<NewCampaign>,
) -> Result<HttpResponse> {
    let body = body.0;
    let store = &state.store;
    let mut fields = Fields::default();
    fields.text("name", &body.name, MAX_NAME);
    let numbers = store.numbers()?;
    let number = super::numbers::named_or_only(&numbers, body.phone_number_id.as_deref());
    fields.check(
        body.rate.is_none_or(|r| (1..=1000).contains(&r)),
        "rate",
        "must be 1 to 1000 messages per second",
    );
    fields.check(
        body.variables.len() <= MAX_VARIABLES
            && body.variables.iter().all(|v| v.chars().count() <= 1024),
        "variables",
        "must be at most 20 texts of up to 1024 characters",
    );
    let settings = store.settings()?;
    let start_at = match body.start_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            let parsed = start_time(text, &settings.business_hours.timezone);
            fields.check(
                parsed.is_some(),
                "start_at",
                "must be a date and time such as 2026-12-24T09:00",
            );
            parsed
        }
    };
    let (audience, unknown) = audience(
        store,
        &body.audience,
        number.as_ref().ok().map(|n| n.id.as_str()),
        &mut fields,
    )?;
    fields.finish()?;
    if let Some(first) = unknown.first() {
        let problem = format!(
            "{} name no contact of this number (the first: {first})",
            unknown.len()
        );
        return Err(Error::unknown("audience.contacts", problem));
    }
    let number = number?.id.clone();
    if let Some(queue) = &body.queue_id {
        super::queues::known_queue(&state, "queue_id", queue)?;
    }
    let template = template(&state, &body.template, body.variables.len()).await?;
    let now = Utc::now();
    let campaign = Campaign {
        id: store.new_campaign_id()?,
        name: body.name.trim().to_string(),
        phone_number_id: number,
        template,
        variables: body
            .variables
            .iter()
            .map(|v| v.trim().to_string())
            .collect(),
        audience,
        queue_id: body.queue_id,
        start_at,
        rate: body.rate,
        status: CampaignStatus::Draft,
        materialized: false,
        materialized_up_to: None,
        created_by: staff.0.id,
        created_at: now,
        updated_at: now,
        started_at: None,
        finished_at: None,
    };
    store.put_campaign(&campaign)?;
    store.durable().await?;
    super::audit::record(
        &state,
        &req,
        Some(staff.0.id),
        "campaign.created",
        Some(campaign.id.to_string()),
        Some(campaign.name.clone()),
    )?;
    let store = store.clone();
    let view = web::block(move || CampaignView::new(&campaign, &store, true)).await??;
    Ok(HttpResponse::Created().json(view))
}

/// A start time: RFC 3339, or a local date and time in the business's time zone.
pub(crate) fn start_time(text: &str, timezone: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .ok()?;
    let zone: chrono_tz::Tz = timezone.parse().ok()?;
    zone.from_local_datetime(&local)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}

/// The audience a body names, checked: labels, field values in their stored form, and the
/// contacts named, with the keys that name no contact of the number.
fn audience(
    store: &atende_data::Store,
    body: &AudienceBody,
    number: Option<&str>,
    fields: &mut Fields,
) -> Result<(Audience, Vec<String>)> {
    let defs = store.settings()?.contact_fields.clone();
    let mut values = Vec::new();
    // As the contact book's filter: a key no field has, or a value the field could not
    // hold, finds nobody (and an audience of nobody is refused below, `audience_empty`).
    for (key, value) in &body.fields {
        let stored = defs
            .iter()
            .find(|d| d.key == key.trim())
            .and_then(|d| d.normal(value).ok());
        values.push((
            key.trim().to_string(),
            stored.unwrap_or_else(|| value.trim().to_string()),
        ));
    }
    fields.check(
        body.contacts.len() <= MAX_LISTED,
        "audience.contacts",
        "must name at most 100000 contacts",
    );
    let mut contact_ids: Vec<ContactId> = Vec::new();
    let mut unknown = Vec::new();
    if body.contacts.len() <= MAX_LISTED {
        for key in &body.contacts {
            match store.find_contacts(key, number)?.first() {
                Some(contact) => contact_ids.push(contact.id),
                None => unknown.push(key.clone()),
            }
        }
    }
    Ok((
        Audience {
            labels: body
                .labels
                .iter()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect(),
            fields: values,
            contact_ids,
        },
        unknown,
    ))
}

/// The approved template named, with its category and body; its body must take exactly
/// the variables given.
async fn template(
    state: &AppState,
    choice: &TemplateChoice,
    variables: usize,
) -> Result<CampaignTemplate> {
    let templates = state
        .hub
        .templates()
        .await
        .map_err(|e| Error::Unavailable(format!("the template list cannot be fetched: {e}")))?;
    let found = templates.iter().find(|t| {
        t["name"].as_str() == Some(choice.name.trim())
            && t["language"].as_str() == Some(choice.language.trim())
            && t["status"]
                .as_str()
                .is_none_or(|s| s.eq_ignore_ascii_case("approved"))
    });
    let Some(found) = found else {
        return Err(Error::field(
            "template",
            "is not an approved template of the business account (name and language)",
        ));
    };
    let body = found["components"]
        .as_array()
        .and_then(|c| {
            c.iter().find(|c| {
                c["type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("body"))
            })
        })
        .and_then(|c| c["text"].as_str())
        .unwrap_or_default()
        .to_string();
    let wanted = (1..=MAX_VARIABLES)
        .take_while(|n| body.contains(&format!("{{{{{n}}}}}")))
        .count();
    if wanted != variables {
        return Err(Error::field(
            "variables",
            format!("the template's body takes {wanted} variables, {variables} were given"),
        ));
    }
    Ok(CampaignTemplate {
        name: choice.name.trim().to_string(),
        language: choice.language.trim().to_string(),
        category: found["category"]
            .as_str()
            .unwrap_or("MARKETING")
            .to_uppercase(),
        body,
    })
}

/// One campaign, with its progress (and its preview until it starts).
#[utoipa::path(tag = "campaigns", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = CampaignView),
))]
#[get("/campaigns/{id}")]
async fn get_campaign(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let campaign = find(&state, &path)?;
    let store = state.store.clone();
    let view = web::block(move || CampaignView::new(&campaign, &store, true)).await??;
    Ok(HttpResponse::Ok().json(view))
}

fn find(state: &AppState, id: &str) -> Result<Campaign> {
    let id: CampaignId = id.parse().map_err(|_| Error::NotFound)?;
    state.store.campaign(id)?.ok_or(Error::NotFound)
}

/// Which sends to list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SendQuery {
    /// `queued`, `sending`, `sent`, `delivered`, `read`, `replied`, `failed` or `skipped`.
    pub state: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(pattern = r"^[0-9]{1,19}$")]
    pub cursor: Option<String>,
}

/// One contact's send.
#[derive(Serialize, ToSchema)]
pub struct SendView {
    pub contact_id: String,
    pub contact_name: Option<String>,
    pub phone: Option<String>,
    pub state: &'static str,
    /// Why it failed or was left out.
    pub reason: Option<String>,
    pub chat_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A campaign's sends, in contact order (staff).
#[utoipa::path(tag = "campaigns", params(("id" = String, Path), SendQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<SendView>),
))]
#[get("/campaigns/{id}/sends")]
async fn campaign_sends(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<String>,
    query: web::Query<SendQuery>,
) -> Result<HttpResponse> {
    let campaign = find(&state, &path)?;
    let limit = page_limit(query.limit)?;
    let cursor: Option<ContactId> = page_cursor(query.cursor.as_deref())?;
    let states = [
        SendState::Queued,
        SendState::Sending,
        SendState::Sent,
        SendState::Delivered,
        SendState::Read,
        SendState::Replied,
        SendState::Failed,
        SendState::Skipped,
    ];
    let state_filter = match query.state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) => Some(
            states
                .into_iter()
                .find(|s| s.as_str().eq_ignore_ascii_case(name))
                .ok_or_else(|| Error::field("state", "is not a send state"))?,
        ),
    };
    let store = &state.store;
    let mut sends = store.campaign_sends(campaign.id, state_filter, cursor, limit + 1)?;
    let more = sends.len() > limit;
    sends.truncate(limit);
    let mut items = Vec::with_capacity(sends.len());
    for send in &sends {
        let contact = store.contact(send.contact_id)?;
        items.push(SendView {
            contact_id: send.contact_id.to_string(),
            contact_name: contact
                .as_ref()
                .and_then(|c| c.display_name().map(String::from)),
            phone: contact.and_then(|c| c.wa_id),
            state: send.state.as_str(),
            reason: send.reason.clone(),
            chat_id: send.chat_id.map(|c| c.to_string()),
            sent_at: send.sent_at,
            updated_at: send.updated_at,
        });
    }
    let next_cursor = more
        .then(|| sends.last().map(|s| s.contact_id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Moves a campaign from one status to another, as `action` asks.
async fn transition(
    state: &AppState,
    req: &HttpRequest,
    staff: &Staff,
    id: &str,
    action: &str,
) -> Result<HttpResponse> {
    let mut campaign = find(state, id)?;
    let now = Utc::now();
    use CampaignStatus::*;
    let next = match (action, campaign.status) {
        (_, Done | Cancelled) => return Err(Error::Conflict(refusals::CAMPAIGN_FINISHED)),
        ("start", Draft) => {
            let store = state.store.clone();
            let preview = campaign.clone();
            let size = web::block(move || store.audience_size(&preview)).await??;
            if size.included == 0 {
                return Err(Error::Conflict(refusals::AUDIENCE_EMPTY));
            }
            Scheduled
        }
        ("start", _) => return Err(Error::Conflict(refusals::CAMPAIGN_STARTED)),
        ("pause", Running | Scheduled) => Paused,
        ("pause", _) => return Err(Error::Conflict(refusals::CAMPAIGN_NOT_RUNNING)),
        ("resume", Paused) if campaign.started_at.is_some() => Running,
        ("resume", Paused) => Scheduled,
        ("resume", _) => return Err(Error::Conflict(refusals::CAMPAIGN_NOT_PAUSED)),
        ("cancel", _) => Cancelled,
        _ => return Err(Error::NotFound),
    };
    campaign.status = next;
    campaign.updated_at = now;
    if next == Cancelled {
        campaign.finished_at = Some(now);
    }
    state.store.put_campaign(&campaign)?;
    state.store.durable().await?;
    tracing::info!(campaign_id = %campaign.id, by = %staff.0.id, status = next.as_str(), "campaign {action}");
    super::audit::record(
        state,
        req,
        Some(staff.0.id),
        &format!("campaign.{action}"),
        Some(campaign.id.to_string()),
        None,
    )?;
    state
        .hub
        .campaigns
        .do_send(atende_actors::campaigns::Review);
    state
        .hub
        .bus
        .do_send(atende_actors::campaigns::updated(&campaign));
    let store = state.store.clone();
    let view = web::block(move || CampaignView::new(&campaign, &store, false)).await??;
    Ok(HttpResponse::Ok().json(view))
}

/// Starts a draft (staff): at its start time, or at once. 409 `audience_empty` when
/// nobody may receive it.
#[utoipa::path(tag = "campaigns", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = CampaignView),
    (status = 409, description = "`campaign_started`, `campaign_finished` or `audience_empty`", body = ErrorBody),
))]
#[post("/campaigns/{id}/start")]
async fn start_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    transition(&state, &req, &staff, &path, "start").await
}

/// Holds a running or scheduled campaign (staff); what was handed to the outbox goes out.
#[utoipa::path(tag = "campaigns", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = CampaignView),
    (status = 409, description = "`campaign_not_running` or `campaign_finished`", body = ErrorBody),
))]
#[post("/campaigns/{id}/pause")]
async fn pause_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    transition(&state, &req, &staff, &path, "pause").await
}

/// Goes on with a paused campaign where it stopped (staff).
#[utoipa::path(tag = "campaigns", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = CampaignView),
    (status = 409, description = "`campaign_not_paused` or `campaign_finished`", body = ErrorBody),
))]
#[post("/campaigns/{id}/resume")]
async fn resume_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    transition(&state, &req, &staff, &path, "resume").await
}

/// Stops a campaign for good (staff); what was not sent stays unsent.
#[utoipa::path(tag = "campaigns", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = CampaignView),
    (status = 409, description = "`campaign_finished`", body = ErrorBody),
))]
#[post("/campaigns/{id}/cancel")]
async fn cancel_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    transition(&state, &req, &staff, &path, "cancel").await
}
