//! API tokens (admins): for integrations (a CRM, an n8n or Typebot flow, a bot). A token is
//! shown once, when made; the hub keeps only its hash. It is sent as
//! `Authorization: Bearer atd_...`, may use only the routes its scopes admit (scopes.rs),
//! and is refused from the moment it is deleted.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use atende_data::{ApiToken, TokenScope, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{new_api_token, Admin};
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::{ErrorBody, Page};

const MAX_NAME: usize = 60;
/// Tokens one install may have.
const MAX_TOKENS: usize = 100;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_tokens)
        .service(create_token)
        .service(delete_token);
}

/// A token as the API shows it (never its secret, except once in [`NewTokenView`]).
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    /// Also the id its messages and audit entries name as their author.
    pub id: String,
    pub name: String,
    /// `chats:read`, `chats:write`, `messages:send`, `contacts:read`, `contacts:write`,
    /// `admin` (every scope; each use audited).
    pub scopes: Vec<&'static str>,
    /// The token's first characters, to tell it apart.
    pub hint: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// To the minute; null when never used.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&ApiToken> for TokenView {
    fn from(t: &ApiToken) -> Self {
        TokenView {
            id: t.id.to_string(),
            name: t.name.clone(),
            scopes: t.scopes.iter().map(|s| s.as_str()).collect(),
            hint: format!("{}{}_…", crate::auth::API_TOKEN_PREFIX, t.id),
            created_by: t.created_by.to_string(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// A token just made, with its secret: shown this once.
#[derive(Serialize, ToSchema)]
pub struct NewTokenView {
    #[serde(flatten)]
    pub view: TokenView,
    /// Send as `Authorization: Bearer <token>`. It cannot be shown again.
    pub token: String,
}

/// A new token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for ("CRM", "Typebot").
    pub name: String,
    /// At least one scope.
    pub scopes: Vec<String>,
}

/// Every token (admins).
#[utoipa::path(tag = "integrations", security(("bearer" = [])), responses(
    (status = 200, body = Page<TokenView>),
    (status = 403, body = ErrorBody),
))]
#[get("/tokens")]
async fn list_tokens(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse> {
    let items = state
        .store
        .api_tokens()?
        .iter()
        .map(TokenView::from)
        .collect();
    Ok(HttpResponse::Ok().json(Page::<TokenView> {
        items,
        next_cursor: None,
    }))
}

/// Makes a token (admins); the answer holds its secret, which is never shown again.
#[utoipa::path(tag = "integrations", request_body = NewToken, security(("bearer" = [])), responses(
    (status = 201, body = NewTokenView),
    (status = 400, body = ErrorBody),
    (status = 403, body = ErrorBody),
    (status = 409, description = "the install has as many tokens as it may", body = ErrorBody),
))]
#[post("/tokens")]
async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: Json<NewToken>,
) -> Result<HttpResponse> {
    let body = body.0;
    let mut fields = Fields::default();
    fields.text("name", &body.name, MAX_NAME);
    let mut scopes: Vec<TokenScope> = Vec::new();
    for name in &body.scopes {
        match TokenScope::parse(name) {
            Some(scope) if !scopes.contains(&scope) => scopes.push(scope),
            Some(_) => {}
            None => {
                fields.check(
                    false,
                    "scopes",
                    "each must be chats:read, chats:write, messages:send, contacts:read, contacts:write or admin",
                );
            }
        }
    }
    fields.check(!body.scopes.is_empty(), "scopes", "name at least one scope");
    fields.finish()?;
    if state.store.api_tokens()?.len() >= MAX_TOKENS {
        return Err(Error::Conflict(atende_data::refusals::TOO_MANY_TOKENS));
    }
    scopes.sort();
    let id = UserId(state.store.integration_id()?);
    let (secret, hash) = new_api_token(id);
    let token = ApiToken {
        id,
        name: body.name.trim().to_string(),
        scopes,
        hash,
        created_by: admin.0.id,
        created_at: Utc::now(),
        last_used_at: None,
    };
    state.store.put_api_token(&token)?;
    super::audit::record(
        &state,
        &req,
        Some(admin.0.id),
        "token.created",
        Some(token.id.to_string()),
        Some(token.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
    )?;
    Ok(HttpResponse::Created().json(NewTokenView {
        view: TokenView::from(&token),
        token: secret,
    }))
}

/// Revokes a token (admins): every request with it is refused from now on.
#[utoipa::path(tag = "integrations", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "revoked"),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
#[delete("/tokens/{id}")]
async fn delete_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id: UserId = path.parse().map_err(|_| Error::NotFound)?;
    if !state.store.delete_api_token(id)? {
        return Err(Error::NotFound);
    }
    super::audit::record(
        &state,
        &req,
        Some(admin.0.id),
        "token.revoked",
        Some(id.to_string()),
        None,
    )?;
    Ok(HttpResponse::NoContent().finish())
}
