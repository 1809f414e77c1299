//! API tokens (admins): for integrations (a CRM, an n8n or Typebot flow, a bot). A token is
//! shown once, when made; the hub keeps only its hash. It is sent as
//! `Authorization: Bearer atd_...`, may use only the routes its scopes admit (scopes.rs),
//! and is refused from the moment it is deleted.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use atende_data::{ApiToken, BotRules, TokenScope, UserId};
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
        .service(update_token)
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
    /// Set when the token is a bot.
    pub bot: Option<BotView>,
}

/// A bot: where its chats come from, and when it must let go of them.
#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct BotView {
    /// New chats on these business numbers start with the bot.
    #[serde(default)]
    pub numbers: Vec<String>,
    /// A customer who picks one of these queues from the greeting's menu goes to the bot.
    #[serde(default)]
    pub queues: Vec<String>,
    /// A customer's message left unanswered this many seconds hands the chat over
    /// (1 to 86400; 300 when left out).
    #[schema(minimum = 1, maximum = 86400)]
    pub timeout_seconds: Option<u32>,
    /// Where a silent bot's chats go (null: no queue).
    pub fallback_queue_id: Option<String>,
}

impl From<&BotRules> for BotView {
    fn from(b: &BotRules) -> Self {
        BotView {
            numbers: b.numbers.clone(),
            queues: b.queues.clone(),
            timeout_seconds: Some(b.silence_timeout_secs),
            fallback_queue_id: b.fallback_queue.clone(),
        }
    }
}

/// Changes to a token: its name, and whether (and where) it is a bot.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenChange {
    #[schema(max_length = 60, pattern = r"\S")]
    pub name: Option<String>,
    /// The bot's rules; null: no longer a bot.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<BotView>)]
    pub bot: Option<Option<BotView>>,
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
            bot: t.bot.as_ref().map(BotView::from),
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
    #[schema(max_length = 60, pattern = r"\S")]
    pub name: String,
    /// At least one scope.
    #[schema(min_items = 1, value_type = Vec<crate::views::ScopeName>)]
    pub scopes: Vec<String>,
}

/// Every token (admins).
#[utoipa::path(tag = "integrations", security(("bearer" = [])), responses(
    (status = 200, body = Page<TokenView>),
))]
#[get("/tokens")]
async fn list_tokens(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(Page::whole(
        state.store.api_tokens()?.iter().map(TokenView::from),
    )))
}

/// Makes a token (admins); the answer holds its secret, which is never shown again.
#[utoipa::path(tag = "integrations", request_body = NewToken, security(("bearer" = [])), responses(
    (status = 201, body = NewTokenView),
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
                    "each must be chats:read, chats:write, messages:send, contacts:read, contacts:write, campaigns or admin",
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
        bot: None,
    };
    state.store.put_api_token(&token)?;
    super::audit::record(
        &state,
        &req,
        Some(admin.0.id),
        "token.created",
        Some(token.id.to_string()),
        Some(
            token
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
    )?;
    Ok(HttpResponse::Created().json(NewTokenView {
        view: TokenView::from(&token),
        token: secret,
    }))
}

/// Default seconds a bot may leave a customer unanswered.
const DEFAULT_BOT_TIMEOUT: u32 = 300;

/// Checks a bot's rules against the numbers, queues and other bots.
fn bot_rules(state: &AppState, token: &ApiToken, view: BotView) -> Result<BotRules> {
    let mut fields = Fields::default();
    let timeout = view.timeout_seconds.unwrap_or(DEFAULT_BOT_TIMEOUT);
    fields.check(
        (1..=86_400).contains(&timeout),
        "bot.timeout_seconds",
        "must be 1 to 86400 seconds",
    );
    fields.finish()?;
    if !(token.allows(TokenScope::MessagesSend) && token.allows(TokenScope::ChatsWrite)) {
        return Err(Error::conflict_on(
            atende_data::refusals::BOT_SCOPES_MISSING,
            "bot",
            "the token needs the scopes messages:send and chats:write",
        ));
    }
    let numbers = state.store.numbers()?;
    if !view
        .numbers
        .iter()
        .all(|id| numbers.iter().any(|n| &n.id == id))
    {
        return Err(Error::unknown(
            "bot.numbers",
            "each must be a business number's id",
        ));
    }
    for queue in view.queues.iter().chain(&view.fallback_queue_id) {
        if state.store.queue(queue)?.is_none() {
            return Err(Error::unknown("bot.queues", "each must be a queue's id"));
        }
    }
    let others = state.store.bots()?;
    let taken = others.iter().filter(|b| b.id != token.id).any(|b| {
        let rules = b.bot.as_ref();
        rules.is_some_and(|r| {
            r.numbers.iter().any(|n| view.numbers.contains(n))
                || r.queues.iter().any(|q| view.queues.contains(q))
        })
    });
    if taken {
        return Err(Error::Conflict(atende_data::refusals::NUMBER_HAS_BOT));
    }
    Ok(BotRules {
        numbers: view.numbers,
        queues: view.queues,
        silence_timeout_secs: timeout,
        fallback_queue: view.fallback_queue_id,
    })
}

/// Renames a token, or makes it a bot (admins): new chats of the bot's numbers, and
/// customers who pick its queues, go to it until it hands them over.
#[utoipa::path(tag = "integrations", request_body = TokenChange, params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = TokenView),
    (status = 409, description = "`number_has_bot`: another bot takes one of these numbers or queues", body = ErrorBody),
))]
#[patch("/tokens/{id}")]
async fn update_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    path: web::Path<String>,
    body: Json<TokenChange>,
) -> Result<HttpResponse> {
    let id: UserId = path.parse().map_err(|_| Error::NotFound)?;
    let mut token = state.store.api_token(id)?.ok_or(Error::NotFound)?;
    let change = body.0;
    if let Some(name) = &change.name {
        let mut fields = Fields::default();
        fields.text("name", name, MAX_NAME);
        fields.finish()?;
        token.name = name.trim().to_string();
    }
    if let Some(bot) = change.bot {
        token.bot = match bot {
            Some(view) => Some(bot_rules(&state, &token, view)?),
            None => None,
        };
    }
    state.store.put_api_token(&token)?;
    super::audit::record(
        &state,
        &req,
        Some(admin.0.id),
        "token.updated",
        Some(token.id.to_string()),
        None,
    )?;
    Ok(HttpResponse::Ok().json(TokenView::from(&token)))
}

/// Revokes a token (admins): every request with it is refused from now on.
#[utoipa::path(tag = "integrations", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "revoked"),
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
