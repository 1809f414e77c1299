//! Contacts: the customers, their names, tags and notes, and their chat history.

use actix_web::{get, patch, web, HttpResponse};
use atende_data::{ChatFilter, Contact};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::chats::visibility;
use crate::auth::Auth;
use crate::conversation::{ChatView, ContactView};
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{page_limit, ErrorBody, Page, MAX_PAGE};

/// Longest contact note.
const MAX_NOTES: usize = 4096;
/// Chats of a contact shown at most.
const MAX_HISTORY: usize = 200;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_contacts)
        .service(get_contact)
        .service(update_contact)
        .service(contact_chats);
}

/// Search and paging of contacts.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContactQuery {
    /// Name or number.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Lists contacts; agents see the contacts of chats they may see.
#[utoipa::path(tag = "contacts", params(ContactQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<ContactView>),
))]
#[get("/contacts")]
async fn list_contacts(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ContactQuery>,
) -> Result<HttpResponse> {
    let limit = page_limit(query.limit)?;
    let store = &state.store;
    let search = query.q.clone().filter(|q| !q.trim().is_empty());
    if search.is_none() && auth.0.role.is_staff() {
        let mut contacts = store.contacts(query.cursor.as_deref(), limit + 1)?;
        let more = contacts.len() > limit;
        contacts.truncate(limit);
        let next_cursor = more
            .then(|| contacts.last().map(|c| c.wa_id.clone()))
            .flatten();
        return Ok(HttpResponse::Ok().json(Page {
            items: contacts
                .iter()
                .map(|c| ContactView::new(c, store))
                .collect(),
            next_cursor,
        }));
    }
    let filter = ChatFilter {
        search,
        visible_to: visibility(&auth),
        limit: MAX_PAGE as usize,
        ..Default::default()
    };
    let page = store.chats(&filter)?;
    let mut items: Vec<ContactView> = Vec::new();
    for chat in &page.chats {
        if items.len() < limit && !items.iter().any(|c| c.wa_id == chat.wa_id) {
            items.extend(
                store
                    .contact(&chat.wa_id)?
                    .map(|c| ContactView::new(&c, store)),
            );
        }
    }
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// A contact the caller may see: staff see all, agents those with a chat they may see.
fn visible_contact(state: &AppState, auth: &Auth, wa_id: &str) -> Result<Contact> {
    let contact = state.store.contact(wa_id)?.ok_or(Error::NotFound)?;
    if let Some(v) = visibility(auth) {
        let chats = state.store.contact_chats(wa_id, MAX_HISTORY)?;
        if !chats.iter().any(|c| v.allows(c)) {
            return Err(Error::NotFound);
        }
    }
    Ok(contact)
}

/// One contact.
#[utoipa::path(tag = "contacts", params(("wa_id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ContactView),
    (status = 404, body = ErrorBody),
))]
#[get("/contacts/{wa_id}")]
async fn get_contact(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let contact = visible_contact(&state, &auth, &path)?;
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
}

/// Changes a contact's name, notes or tags.
#[utoipa::path(tag = "contacts", request_body = ContactChange, params(("wa_id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ContactView),
    (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
#[patch("/contacts/{wa_id}")]
async fn update_contact(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: Json<ContactChange>,
) -> Result<HttpResponse> {
    visible_contact(&state, &auth, &path)?;
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
    fields.finish()?;
    let contact = state.store.update_contact(&path, |c| {
        if let Some(name) = &change.name {
            c.name = name.as_ref().map(|n| n.trim().to_string());
        }
        if let Some(notes) = &change.notes {
            c.notes = notes.clone();
        }
        if let Some(tags) = &change.tags {
            c.tags = tags.iter().map(|t| t.trim().to_string()).collect();
        }
    })?;
    state.store.durable().await?;
    Ok(HttpResponse::Ok().json(ContactView::new(&contact, &state.store)))
}

/// A contact's chats, newest first (the ones the caller may see).
#[utoipa::path(tag = "contacts", params(("wa_id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Page<ChatView>),
))]
#[get("/contacts/{wa_id}/chats")]
async fn contact_chats(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    visible_contact(&state, &auth, &path)?;
    let seen_by = visibility(&auth);
    let chats = state.store.contact_chats(&path, MAX_HISTORY)?;
    let items = chats
        .iter()
        .filter(|c| seen_by.as_ref().is_none_or(|v| v.allows(c)))
        .map(|c| ChatView::new(c, &state.store))
        .collect();
    Ok(HttpResponse::Ok().json(Page::<ChatView> {
        items,
        next_cursor: None,
    }))
}
