//! Business numbers: the WhatsApp numbers this install answers (admins change them,
//! everyone signed in reads them). Webhooks are routed by a number's id (Meta's phone number id);
//! each number sends through its own outbound queue, at its own rate.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use atende_actors::router::NumberChanged;
use atende_data::{phone, BusinessNumber};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Admin, Auth};
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{ErrorBody, Page};

/// Longest id and name.
const MAX_ID: usize = 64;
const MAX_NAME: usize = 60;
/// Meta's cap per number.
const MAX_RATE: u32 = 1000;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_numbers)
        .service(create_number)
        .service(update_number)
        .service(delete_number);
}

/// A business number as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct NumberView {
    /// Meta's phone number id (`metadata.phone_number_id` of its webhooks).
    pub id: String,
    pub name: String,
    /// The number in international digits.
    pub display_number: Option<String>,
    pub business_account_id: Option<String>,
    /// Messages per second (the hub's WHATSAPP_RATE_LIMIT when null).
    pub rate_limit: Option<u32>,
    /// Unique customers campaigns may reach in a rolling 24 hours: Meta's messaging limit
    /// of the number (null: not capped by the hub).
    pub messaging_limit: Option<u32>,
    /// Webhooks for a disabled number are kept as unprocessed.
    pub enabled: bool,
    pub created_at: chrono::DateTime<Utc>,
}

impl From<&BusinessNumber> for NumberView {
    fn from(n: &BusinessNumber) -> Self {
        NumberView {
            id: n.id.clone(),
            name: n.name.clone(),
            display_number: n.display_number.clone(),
            business_account_id: n.business_account_id.clone(),
            rate_limit: n.rate_limit,
            messaging_limit: n.messaging_limit,
            enabled: n.enabled,
            created_at: n.created_at,
        }
    }
}

/// A new number.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNumber {
    /// Meta's phone number id.
    #[schema(pattern = r"^\s*[A-Za-z0-9_-]{1,64}\s*$")]
    pub id: String,
    #[schema(max_length = 60, pattern = r"\S")]
    pub name: String,
    /// Any form: `+55 (11) 98765-4321` is kept as `5511987654321`.
    #[schema(pattern = r"^[^0-9]*([0-9][^0-9]*){8,15}$")]
    pub display_number: Option<String>,
    #[schema(pattern = r"^[0-9]{1,64}$")]
    pub business_account_id: Option<String>,
    #[schema(minimum = 1, maximum = 1000)]
    pub rate_limit: Option<u32>,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub messaging_limit: Option<u32>,
    pub enabled: Option<bool>,
}

/// Changes to a number; `null` clears an optional field.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberChange {
    #[schema(max_length = 60, pattern = r"\S")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>, pattern = r"^[^0-9]*([0-9][^0-9]*){8,15}$")]
    pub display_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>, pattern = r"^[0-9]{1,64}$")]
    pub business_account_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub rate_limit: Option<Option<u32>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000_000)]
    pub messaging_limit: Option<Option<u32>>,
    pub enabled: Option<bool>,
}

fn check(
    fields: &mut Fields,
    name: Option<&str>,
    display: Option<&str>,
    rate: Option<u32>,
    account: Option<&str>,
) {
    if let Some(name) = name {
        fields.text("name", name, MAX_NAME);
    }
    if let Some(display) = display {
        let digits = phone::digits(display);
        fields.check(
            (8..=15).contains(&digits.len()),
            "display_number",
            "must be a phone number of 8 to 15 digits",
        );
    }
    if let Some(rate) = rate {
        fields.check(
            (1..=MAX_RATE).contains(&rate),
            "rate_limit",
            "must be 1 to 1000 messages per second",
        );
    }
    if let Some(account) = account {
        fields.check(
            !account.is_empty()
                && account.len() <= MAX_ID
                && account.bytes().all(|b| b.is_ascii_digit()),
            "business_account_id",
            "must be the account's digits",
        );
    }
}

/// Meta's highest tier is unlimited: a cap past a billion customers a day is no cap.
const MAX_MESSAGING_LIMIT: u32 = 1_000_000_000;

fn check_limit(fields: &mut Fields, limit: Option<u32>) {
    fields.check(
        limit.is_none_or(|l| (1..=MAX_MESSAGING_LIMIT).contains(&l)),
        "messaging_limit",
        "must be 1 to 1000000000 customers a day (null: not capped)",
    );
}

/// Every business number (any signed-in user: the console names each chat's number).
#[utoipa::path(tag = "numbers", security(("bearer" = [])), responses(
    (status = 200, body = Page<NumberView>),
))]
#[get("/numbers")]
async fn list_numbers(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(Page::whole(
        state.store.numbers()?.iter().map(NumberView::from),
    )))
}

/// Adds a business number (admins).
#[utoipa::path(tag = "numbers", request_body = NewNumber, security(("bearer" = [])), responses(
    (status = 201, body = NumberView),
    (status = 409, description = "a number with this id exists", body = ErrorBody),
))]
#[post("/numbers")]
async fn create_number(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
    body: Json<NewNumber>,
) -> Result<HttpResponse> {
    let body = body.0;
    let id = body.id.trim().to_string();
    let mut fields = Fields::default();
    fields.check(
        !id.is_empty()
            && id.len() <= MAX_ID
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "id",
        "must be Meta's phone number id (1 to 64 letters, digits, - or _)",
    );
    let business_account_id = body.business_account_id.map(|a| a.trim().to_string());
    check(
        &mut fields,
        Some(&body.name),
        body.display_number.as_deref(),
        body.rate_limit,
        business_account_id.as_deref(),
    );
    check_limit(&mut fields, body.messaging_limit);
    fields.finish()?;
    let number = BusinessNumber {
        id,
        name: body.name.trim().to_string(),
        display_number: body.display_number.as_deref().map(phone::digits),
        business_account_id,
        rate_limit: body.rate_limit,
        messaging_limit: body.messaging_limit,
        enabled: body.enabled.unwrap_or(true),
        created_at: Utc::now(),
    };
    state.store.create_number(&number)?;
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "number.created",
        Some(number.id.clone()),
        None,
    )?;
    Ok(HttpResponse::Created().json(NumberView::from(&number)))
}

/// Changes a business number (admins); a new rate applies from its next send.
#[utoipa::path(tag = "numbers", request_body = NumberChange, params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = NumberView),
))]
#[patch("/numbers/{id}")]
async fn update_number(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
    path: web::Path<String>,
    body: Json<NumberChange>,
) -> Result<HttpResponse> {
    let mut number = state.store.number(&path)?.ok_or(Error::NotFound)?;
    let change = body.0;
    let mut fields = Fields::default();
    let account = change.business_account_id.clone().flatten();
    check(
        &mut fields,
        change.name.as_deref(),
        change.display_number.clone().flatten().as_deref(),
        change.rate_limit.flatten(),
        account.as_deref().map(str::trim),
    );
    check_limit(&mut fields, change.messaging_limit.flatten());
    fields.finish()?;
    if let Some(name) = change.name {
        number.name = name.trim().to_string();
    }
    if let Some(display) = change.display_number {
        number.display_number = display.as_deref().map(phone::digits);
    }
    if let Some(account) = change.business_account_id {
        number.business_account_id = account.map(|a| a.trim().to_string());
    }
    if let Some(rate) = change.rate_limit {
        number.rate_limit = rate;
    }
    if let Some(limit) = change.messaging_limit {
        number.messaging_limit = limit;
    }
    if let Some(enabled) = change.enabled {
        number.enabled = enabled;
    }
    state.store.put_number(&number)?;
    state.hub.router.do_send(NumberChanged {
        number: number.id.clone(),
        rate_limit: number.rate_limit,
    });
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "number.updated",
        Some(number.id.clone()),
        None,
    )?;
    Ok(HttpResponse::Ok().json(NumberView::from(&number)))
}

/// Removes a business number (admins); its chats keep their history. The last number
/// stays (without one, every number's webhooks would be taken).
#[utoipa::path(tag = "numbers", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "removed"),
    (status = 409, description = "it is the last number", body = ErrorBody),
))]
#[delete("/numbers/{id}")]
async fn delete_number(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let numbers = state.store.numbers()?;
    if !numbers.iter().any(|n| n.id == *path) {
        return Err(Error::NotFound);
    }
    if numbers.len() == 1 {
        return Err(Error::Conflict(atende_data::refusals::LAST_NUMBER));
    }
    state.store.delete_number(&path)?;
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "number.deleted",
        Some(path.into_inner()),
        None,
    )?;
    Ok(HttpResponse::NoContent().finish())
}

/// The business number a request names, or the only one when it names none: 409
/// `unknown_reference` for a number the hub lacks, `number_required` when it has several.
pub fn named_or_only<'a>(
    numbers: &'a [BusinessNumber],
    given: Option<&str>,
) -> Result<&'a BusinessNumber> {
    const FIELD: &str = "phone_number_id";
    match given {
        Some(id) => numbers
            .iter()
            .find(|n| n.id == id)
            .ok_or_else(|| Error::unknown(FIELD, "is not a business number of this hub")),
        None if numbers.len() == 1 => Ok(&numbers[0]),
        None => Err(Error::conflict_on(
            atende_data::refusals::NUMBER_REQUIRED,
            FIELD,
            "is required: this hub has several business numbers",
        )),
    }
}
