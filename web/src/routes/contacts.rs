//! Contacts: the customers, their names, tags and notes, and their chat history.

use actix_web::{get, patch, web, HttpResponse};
use atende_data::{ChatFilter, Contact, ContactFilter, FieldDef};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::chats::visibility;
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{page_cursor, page_limit, Page, MAX_PAGE};
use crate::views::{ChatView, ContactView};

/// Longest contact note.
pub(crate) const MAX_NOTES: usize = 4096;
/// Chats of a contact shown at most.
const MAX_HISTORY: usize = 200;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_contacts)
        .configure(super::contact_book::configure)
        .service(get_contact)
        .service(update_contact)
        .service(contact_chats);
}

/// Search, filters and paging of the contact book.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BookQuery {
    /// Words of the name or username, digits of the phone, or the BSUID.
    pub q: Option<String>,
    /// Contacts with any of these labels (comma-separated).
    pub label: Option<String>,
    /// Contacts whose field holds a value, as `key:value` (a choice in any case).
    #[param(pattern = r"^[^:]+:")]
    pub field: Option<String>,
    /// Opted out of marketing messages (true) or not (false).
    pub opted_out: Option<bool>,
    /// Known by a phone (true) or only by a BSUID (false).
    pub has_phone: Option<bool>,
    /// On this business number.
    pub phone_number_id: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(pattern = r"^[0-9]{1,19}$")]
    pub cursor: Option<String>,
}

impl BookQuery {
    /// The filter these parameters ask for: a field's value is compared in its defined
    /// form (a choice in any case); a key no field has, or a value the field could not
    /// hold, finds no contact rather than an error, as any search for what is not there.
    pub fn filter(&self, defs: &[FieldDef]) -> Result<ContactFilter> {
        let mut fields = Vec::new();
        if let Some(given) = &self.field {
            let (key, value) = given
                .split_once(':')
                .ok_or_else(|| Error::field("field", "must be key:value"))?;
            let (key, value) = (key.trim(), value.trim());
            let stored = defs
                .iter()
                .find(|d| d.key == key)
                .and_then(|d| d.normal(value).ok());
            fields.push((key.to_string(), stored.unwrap_or_else(|| value.to_string())));
        }
        let labels = self
            .label
            .iter()
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        Ok(ContactFilter {
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            labels,
            fields,
            opted_out: self.opted_out,
            has_phone: self.has_phone,
            number: self.phone_number_id.clone(),
        })
    }
}

/// The contact book: staff page through every contact the filters find; agents see the
/// contacts of chats they may see.
#[utoipa::path(tag = "contacts", params(BookQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<ContactView>),
))]
#[get("/contacts")]
async fn list_contacts(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<BookQuery>,
) -> Result<HttpResponse> {
    let limit = page_limit(query.limit)?;
    let store = &state.store;
    let filter = query.filter(&store.settings()?.contact_fields)?;
    if auth.0.role.is_staff() {
        let cursor = page_cursor(query.cursor.as_deref())?;
        let page = store.contact_page(&filter, cursor, limit)?;
        return Ok(HttpResponse::Ok().json(Page {
            items: page
                .contacts
                .iter()
                .map(|c| ContactView::new(c, store))
                .collect(),
            next_cursor: page.next.map(|id| id.to_string()),
        }));
    }
    let chats = ChatFilter {
        search: filter.q.clone(),
        visible_to: visibility(&auth),
        limit: MAX_PAGE as usize,
        ..Default::default()
    };
    let found = ContactFilter { q: None, ..filter };
    let page = store.chats(&chats)?;
    let mut items: Vec<ContactView> = Vec::new();
    for chat in &page.chats {
        let Some(contact) = store.contact(chat.contact_id)? else {
            continue;
        };
        let listed = items.iter().any(|c| c.id == contact.id.to_string());
        if items.len() < limit && !listed && found.matches(&contact) {
            items.push(ContactView::new(&contact, store));
        }
    }
    Ok(HttpResponse::Ok().json(Page::whole(items)))
}

/// Which business number a phone or BSUID is looked up on.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct KeyQuery {
    /// A phone or BSUID names one contact per business number: this one's (else the
    /// first the caller may see).
    pub phone_number_id: Option<String>,
}

/// The contact `key` names (its id, phone in any form, or BSUID), for staff.
pub(crate) fn any_contact(state: &AppState, key: &str, number: Option<&str>) -> Result<Contact> {
    let found = state.store.find_contacts(key, number)?;
    found.into_iter().next().ok_or(Error::NotFound)
}

/// The contact `key` names (its id, phone in any form, or BSUID) that the caller may see:
/// staff see all, agents those with a chat they may see.
pub(crate) fn visible_contact(
    state: &AppState,
    auth: &Auth,
    key: &str,
    number: Option<&str>,
) -> Result<Contact> {
    let Some(v) = visibility(auth) else {
        return any_contact(state, key, number);
    };
    let found = state.store.find_contacts(key, number)?;
    for contact in found {
        let chats = state.store.contact_chats(contact.id, MAX_HISTORY)?;
        if chats.iter().any(|c| v.allows(c)) {
            return Ok(contact);
        }
    }
    Err(Error::NotFound)
}

/// One contact.
#[utoipa::path(tag = "contacts", params(("key" = String, Path, description = "the contact's id, phone (any form) or BSUID"), KeyQuery), security(("bearer" = [])), responses(
    (status = 200, body = ContactView),
))]
#[get("/contacts/{key}")]
async fn get_contact(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    key: web::Query<KeyQuery>,
) -> Result<HttpResponse> {
    let contact = visible_contact(&state, &auth, &path, key.phone_number_id.as_deref())?;
    Ok(HttpResponse::Ok().json(ContactView::new(&contact, &state.store)))
}

/// What may change on a contact; `null` clears name or notes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChange {
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    /// True: no marketing messages for this customer (set by the team); false: they may
    /// receive them again.
    pub marketing_opt_out: Option<bool>,
    /// True: the customer agreed to marketing messages (the team records it); false: that
    /// record is dropped.
    pub marketing_opt_in: Option<bool>,
    /// Values of the defined contact fields by key (`GET /contact-fields`); `null` or ""
    /// clears one. Numbers may be sent as numbers.
    #[schema(value_type = Option<Object>)]
    pub fields: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// Changes a contact's name, notes, tags or marketing opt-out.
#[utoipa::path(tag = "contacts", request_body = ContactChange, params(("key" = String, Path, description = "the contact's id, phone (any form) or BSUID"), KeyQuery), security(("bearer" = [])), responses(
    (status = 200, body = ContactView),
))]
#[patch("/contacts/{key}")]
async fn update_contact(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    key: web::Query<KeyQuery>,
    body: Json<ContactChange>,
) -> Result<HttpResponse> {
    let contact = visible_contact(&state, &auth, &path, key.phone_number_id.as_deref())?;
    let change = body.0;
    let mut fields = Fields::default();
    if let Some(Some(name)) = &change.name {
        fields.text("name", name, crate::validate::MAX_NAME);
    }
    if let Some(Some(notes)) = &change.notes {
        fields.check(
            notes.chars().count() <= MAX_NOTES,
            "notes",
            "must be at most 4096 characters",
        );
    }
    if let Some(tags) = &change.tags {
        fields.check(
            tags.len() <= 20
                && tags
                    .iter()
                    .all(|t| !t.trim().is_empty() && t.chars().count() <= 32),
            "tags",
            "must be up to 20 tags of 1 to 32 characters",
        );
    }
    let mut values: Vec<(String, Option<String>)> = Vec::new();
    if let Some(given) = &change.fields {
        let defs = state.store.settings()?.contact_fields.clone();
        for (key, value) in given {
            let name = format!("fields.{key}");
            let Some(def) = defs.iter().find(|d| d.key == *key) else {
                fields.check(false, &name, "is not a contact field");
                continue;
            };
            let raw = match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) if s.trim().is_empty() => None,
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => {
                    fields.check(false, &name, "must be text, a number or null");
                    continue;
                }
            };
            match raw.map(|r| def.normal(&r)).transpose() {
                Ok(stored) => values.push((key.clone(), stored)),
                Err(problem) => {
                    fields.check(false, &name, problem);
                }
            }
        }
    }
    fields.finish()?;
    let contact = state.store.update_contact(contact.id, |c| {
        for (key, value) in values {
            match value {
                Some(v) => c.fields.insert(key, v),
                None => c.fields.remove(&key),
            };
        }
        mark(&mut c.marketing_opt_in, change.marketing_opt_in);
        if let Some(name) = &change.name {
            c.name = name.as_ref().map(|n| n.trim().to_string());
        }
        if let Some(notes) = &change.notes {
            c.notes = notes.clone();
        }
        if let Some(tags) = &change.tags {
            c.tags = tags.iter().map(|t| t.trim().to_string()).collect();
        }
        mark(&mut c.marketing_opt_out, change.marketing_opt_out);
    })?;
    let view = ContactView::new(&contact, &state.store);
    let event = atende_actors::events::Publish::contact(contact, true).promised(&state.store)?;
    state.store.durable().await?;
    state.hub.bus.do_send(event);
    Ok(HttpResponse::Ok().json(view))
}

/// Records the team's yes to a marketing opt-in or opt-out (the first one stands), or
/// drops it on a no.
fn mark(record: &mut Option<atende_data::OptOut>, said: Option<bool>) {
    match said {
        Some(true) if record.is_none() => {
            *record = Some(atende_data::OptOut {
                at: chrono::Utc::now(),
                source: "team".into(),
            })
        }
        Some(false) => *record = None,
        _ => {}
    }
}

/// A contact's chats, newest first (the ones the caller may see).
#[utoipa::path(tag = "contacts", params(("key" = String, Path, description = "the contact's id, phone (any form) or BSUID"), KeyQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<ChatView>),
))]
#[get("/contacts/{key}/chats")]
async fn contact_chats(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    key: web::Query<KeyQuery>,
) -> Result<HttpResponse> {
    let contact = visible_contact(&state, &auth, &path, key.phone_number_id.as_deref())?;
    let seen_by = visibility(&auth);
    let chats = state.store.contact_chats(contact.id, MAX_HISTORY)?;
    Ok(HttpResponse::Ok().json(Page::whole(
        chats
            .iter()
            .filter(|c| seen_by.as_ref().is_none_or(|v| v.allows(c)))
            .map(|c| ChatView::new(c, &state.store)),
    )))
}
