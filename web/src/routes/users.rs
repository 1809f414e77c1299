//! User administration: admins create, change and deactivate; supervisors read.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use atende_actors::events::UserChanged;
use atende_data::{password, NewUser, Role, Store, User, UserId};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Admin, Auth, Staff};
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::{Fields, MAX_NAME};
use crate::views::{page_cursor, ErrorBody, Page, PageQuery, RoleName, UserView};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_users)
        .service(create_user)
        .service(get_user)
        .service(update_user)
        .service(deactivate_user);
}

/// Capacity given to a new agent when the request names none.
pub const DEFAULT_MAX_CONCURRENT_CHATS: u32 = 5;
/// The most chats one person can sensibly hold at once.
pub const MAX_CONCURRENT_CHATS: u32 = 100;
/// The most queues one user can belong to.
const MAX_QUEUES_PER_USER: usize = 50;
/// Longest queue id.
const MAX_QUEUE_ID: usize = 64;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(max_length = 254, pattern = r"^\s*[^\s@]+@\S+?\s*$")]
    pub email: String,
    #[schema(max_length = 100, pattern = r"\S")]
    pub name: String,
    #[schema(value_type = RoleName)]
    pub role: Role,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    #[schema(minimum = 1, maximum = 100)]
    pub max_concurrent_chats: Option<u32>,
    #[schema(max_items = 50, value_type = Option<Vec<crate::views::QueueRef>>)]
    pub queue_ids: Option<Vec<String>>,
    /// Whether the user must choose a new password at first sign-in; true when absent.
    pub must_change_password: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(max_length = 254, pattern = r"^\s*[^\s@]+@\S+?\s*$")]
    pub email: Option<String>,
    #[schema(max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(value_type = Option<RoleName>)]
    pub role: Option<Role>,
    pub active: Option<bool>,
    #[schema(minimum = 1, maximum = 100)]
    pub max_concurrent_chats: Option<u32>,
    #[schema(max_items = 50, value_type = Option<Vec<crate::views::QueueRef>>)]
    pub queue_ids: Option<Vec<String>>,
    /// Resets the password: the user's sessions end and they must choose a new one.
    pub password: Option<String>,
}

/// Lists users in creation order.
#[utoipa::path(tag = "users", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<UserView>),
))]
#[get("/users")]
async fn list_users(
    state: web::Data<AppState>,
    _staff: Staff,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let limit = query.limit()?;
    let after: Option<UserId> = page_cursor(query.cursor.as_deref())?;
    let mut users = state.store.users(after, limit + 1)?;
    let next_cursor = (users.len() > limit).then(|| {
        users.truncate(limit);
        users.last().map(|u| u.id.to_string())
    });
    Ok(HttpResponse::Ok().json(Page {
        items: users
            .iter()
            .map(|u| UserView::new(u, &state.hub.board))
            .collect(),
        next_cursor: next_cursor.flatten(),
    }))
}

/// Creates a user.
#[utoipa::path(tag = "users", request_body = CreateUser, security(("bearer" = [])), responses(
    (status = 201, body = UserView),
    (status = 409, description = "the email is taken", body = ErrorBody),
))]
#[post("/users")]
async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
    body: Json<CreateUser>,
) -> Result<HttpResponse> {
    let body = body.0;
    let capacity = match body.max_concurrent_chats {
        Some(capacity) => capacity,
        None => state.store.settings()?.default_max_concurrent_chats,
    };
    let queue_ids = body.queue_ids.unwrap_or_default();
    let mut fields = Fields::default();
    fields
        .email("email", &body.email)
        .text("name", &body.name, MAX_NAME)
        .password("password", &body.password);
    check_capacity(&mut fields, capacity);
    check_queues(&mut fields, &queue_ids);
    fields.finish()?;
    known_queues(&state, &queue_ids)?;
    let plain = body.password;
    let password_hash = web::block(move || password::hash(&plain)).await??;
    let store = state.store.clone();
    let new = NewUser {
        email: body.email,
        name: body.name.trim().to_string(),
        role: body.role,
        password_hash,
        max_concurrent_chats: capacity,
        queue_ids,
        must_change_password: body.must_change_password.unwrap_or(true),
    };
    let user = store.create_user(new)?;
    store.durable().await?;
    tracing::info!(user_id = %user.id, by = %auth.0.id, role = %user.role, "user created");
    let detail = Some(format!("role {}", user.role));
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "user.created",
        Some(user.id.to_string()),
        detail,
    )?;
    Ok(HttpResponse::Created().json(UserView::new(&user, &state.hub.board)))
}

/// One user; admins and supervisors read anyone, others only themselves.
#[utoipa::path(tag = "users", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = UserView),
))]
#[get("/users/{id}")]
async fn get_user(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = parse_id(&path)?;
    if id != auth.0.id {
        auth.require_staff()?;
    }
    let user = state.store.user(id)?.ok_or(Error::NotFound)?;
    Ok(HttpResponse::Ok().json(UserView::new(&user, &state.hub.board)))
}

/// Changes a user. Deactivating or resetting the password ends their sessions at once.
#[utoipa::path(tag = "users", request_body = UpdateUser, security(("bearer" = [])),
    params(("id" = String, Path)), responses(
    (status = 200, body = UserView),
    (status = 409, description = "email taken, or the last admin would be lost", body = ErrorBody),
))]
#[patch("/users/{id}")]
async fn update_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
    path: web::Path<String>,
    body: Json<UpdateUser>,
) -> Result<HttpResponse> {
    let id = parse_id(&path)?;
    let change = body.0;
    let changed_fields = change.field_names();
    let mut fields = Fields::default();
    if let Some(email) = &change.email {
        fields.email("email", email);
    }
    if let Some(name) = &change.name {
        fields.text("name", name, MAX_NAME);
    }
    if let Some(password) = &change.password {
        fields.password("password", password);
    }
    if let Some(capacity) = change.max_concurrent_chats {
        check_capacity(&mut fields, capacity);
    }
    if let Some(queue_ids) = &change.queue_ids {
        check_queues(&mut fields, queue_ids);
    }
    fields.finish()?;
    if let Some(queue_ids) = &change.queue_ids {
        known_queues(&state, queue_ids)?;
    }
    let new_hash = match change.password.clone() {
        Some(plain) => Some(web::block(move || password::hash(&plain)).await??),
        None => None,
    };
    let store = &state.store;
    let current = store.user(id)?.ok_or(Error::NotFound)?;
    let stays_admin = change.role.unwrap_or(current.role) == Role::Admin
        && change.active.unwrap_or(current.active);
    guard_last_admin(store, &current, stays_admin)?;
    let ends_sessions = new_hash.is_some() || change.active == Some(false);
    let user = store.update_user(id, |user| {
        apply(user, &change, new_hash.as_deref(), ends_sessions);
        Ok(())
    })?;
    if ends_sessions {
        store.end_all_sessions(id)?;
    }
    store.durable().await?;
    state.hub.bus.do_send(UserChanged {
        user: user.clone(),
        end_sessions: ends_sessions,
    });
    tracing::info!(user_id = %id, by = %auth.0.id, ends_sessions, "user changed");
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "user.changed",
        Some(id.to_string()),
        Some(changed_fields),
    )?;
    Ok(HttpResponse::Ok().json(UserView::new(&user, &state.hub.board)))
}

impl UpdateUser {
    /// The fields this change sets (never their values: a password stays secret).
    fn field_names(&self) -> String {
        let set = [
            ("email", self.email.is_some()),
            ("name", self.name.is_some()),
            ("role", self.role.is_some()),
            ("active", self.active.is_some()),
            ("max_concurrent_chats", self.max_concurrent_chats.is_some()),
            ("queue_ids", self.queue_ids.is_some()),
            ("password", self.password.is_some()),
        ];
        set.iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn apply(user: &mut User, change: &UpdateUser, new_hash: Option<&str>, ends_sessions: bool) {
    if let Some(email) = &change.email {
        user.email = email.clone();
    }
    if let Some(name) = &change.name {
        user.name = name.trim().to_string();
    }
    if let Some(role) = change.role {
        user.role = role;
    }
    if let Some(active) = change.active {
        user.active = active;
    }
    if let Some(capacity) = change.max_concurrent_chats {
        user.max_concurrent_chats = capacity;
    }
    if let Some(queue_ids) = &change.queue_ids {
        user.queue_ids = queue_ids.clone();
    }
    if let Some(hash) = new_hash {
        user.password_hash = hash.to_string();
        user.must_change_password = true;
    }
    if ends_sessions {
        user.session_epoch += 1;
    }
}

/// Deactivates a user: they can no longer sign in and their sessions end; their name
/// stays on the history they made.
#[utoipa::path(tag = "users", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 204, description = "deactivated"),
    (status = 409, description = "the last active admin", body = ErrorBody),
))]
#[delete("/users/{id}")]
async fn deactivate_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = parse_id(&path)?;
    let store = &state.store;
    let current = store.user(id)?.ok_or(Error::NotFound)?;
    guard_last_admin(store, &current, false)?;
    let user = store.update_user(id, |user| {
        if user.active {
            user.active = false;
            user.session_epoch += 1;
        }
        Ok(())
    })?;
    store.end_all_sessions(id)?;
    store.durable().await?;
    state.hub.bus.do_send(UserChanged {
        user,
        end_sessions: true,
    });
    tracing::info!(user_id = %id, by = %auth.0.id, "user deactivated");
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "user.deactivated",
        Some(id.to_string()),
        None,
    )?;
    Ok(HttpResponse::NoContent().finish())
}

fn parse_id(raw: &str) -> Result<UserId> {
    raw.parse().map_err(|_| Error::NotFound)
}

/// Refuses a change that would leave the hub with no active admin.
fn guard_last_admin(store: &Store, current: &User, stays_admin: bool) -> Result<()> {
    let is_admin = current.active && current.role == Role::Admin;
    if is_admin && !stays_admin && store.active_admin_count()? <= 1 {
        return Err(Error::Conflict(atende_data::refusals::LAST_ADMIN));
    }
    Ok(())
}

fn check_capacity(fields: &mut Fields, capacity: u32) {
    fields.check(
        (1..=MAX_CONCURRENT_CHATS).contains(&capacity),
        "max_concurrent_chats",
        "must be between 1 and 100",
    );
}

/// The queues must exist (after the fields are checked): an agent of a queue not made yet
/// would silently see nothing.
fn known_queues(state: &AppState, queue_ids: &[String]) -> Result<()> {
    let known: Vec<String> = state.store.queues()?.into_iter().map(|q| q.id).collect();
    let unknown: Vec<&str> = queue_ids
        .iter()
        .map(|q| q.as_str())
        .filter(|q| !known.iter().any(|k| k == q))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        let problem = format!("names queues that do not exist: {}", unknown.join(", "));
        Err(Error::unknown("queue_ids", problem))
    }
}

/// At most 50 queue ids, each of 1 to 64 characters.
fn check_queues(fields: &mut Fields, queue_ids: &[String]) {
    fields.check(
        queue_ids.len() <= MAX_QUEUES_PER_USER,
        "queue_ids",
        "may name at most 50 queues",
    );
    fields.check(
        queue_ids
            .iter()
            .all(|q| !q.trim().is_empty() && q.len() <= MAX_QUEUE_ID),
        "queue_ids",
        "must be non-empty ids of at most 64 characters",
    );
}
