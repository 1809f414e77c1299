//! Sign-in, token refresh with rotation, sign-out, the current user, password change.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use atende_actors::events::{SignInEnded, UserChanged};
use atende_data::{password, tokens, FamilyId, RotateOutcome, User};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::client_address;
use crate::auth::{Session, ACCESS_TOKEN_SECONDS, REFRESH_TOKEN_DAYS};
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::{Fields, MAX_EMAIL, MAX_PASSWORD};
use crate::views::{ErrorBody, UserView};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(me)
        .service(change_password);
}

const INVALID_CREDENTIALS: Error = Error::Unauthorized {
    code: "invalid_credentials",
    message: "the email or the password is wrong",
};
const CODE_REQUIRED: Error = Error::Unauthorized {
    code: "two_factor_required",
    message: "this account signs in with a second factor: send the authenticator's code",
};
const INVALID_REFRESH: Error = Error::Unauthorized {
    code: "invalid_refresh_token",
    message: "this refresh token is not valid; sign in again",
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// For an account with two-factor sign-in: the six digits of the authenticator app,
    /// or one of the recovery codes. Without it such an account is answered 401
    /// `two_factor_required`, and nothing else is told.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub code: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// A new access token and refresh token.
#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: UserView,
}

/// Signs in with email and password, and the authenticator's code for an account with
/// two-factor sign-in.
#[utoipa::path(tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "`invalid_credentials`; `two_factor_required` (send `code`); `invalid_two_factor_code`", body = ErrorBody),
    (status = 429, description = "too many failed sign-ins; see Retry-After", body = ErrorBody),
))]
#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse> {
    let LoginRequest {
        email,
        password,
        code,
    } = body.0;
    Fields::default()
        .check(email.len() <= MAX_EMAIL, "email", "is too long")
        .check(
            code.as_ref().is_none_or(|c| c.len() <= 64),
            "code",
            "is too long",
        )
        .check(
            password.len() <= MAX_PASSWORD * 4,
            "password",
            "is too long",
        )
        .finish()?;
    let address = client_address(&req);
    if let Some(wait) = state.limits.logins.wait(&address, &email) {
        return Err(Error::RateLimited {
            retry_after: wait.as_secs().max(1),
        });
    }
    let store = state.store.clone();
    let account = email.clone();
    let user = web::block(move || check_password(&store, &account, &password)).await??;
    let Some(user) = user.filter(|user| user.active) else {
        state.limits.logins.failed(&address, &email);
        tracing::info!(%address, "sign-in failed");
        let target = Some(atende_data::records::user::normalize_email(&email));
        super::audit::record(&state, &req, None, "auth.login_failed", target, None)?;
        return Err(INVALID_CREDENTIALS);
    };
    state.limits.logins.succeeded(&address, &email);
    if user.two_factor.is_on() {
        let code = code.filter(|c| !c.trim().is_empty()).ok_or(CODE_REQUIRED)?;
        super::two_factor::sign_in_code(&state, &req, &user, &code).await?;
    }
    let refresh_token = tokens::generate();
    let expires = Utc::now() + Duration::days(REFRESH_TOKEN_DAYS);
    let family = state
        .store
        .start_session(user.id, &tokens::hash(&refresh_token), expires)?;
    state.store.durable().await?;
    tracing::info!(user_id = %user.id, %address, "signed in");
    super::audit::record(&state, &req, Some(user.id), "auth.login", None, None)?;
    Ok(HttpResponse::Ok().json(token_pair(&state, &user, family, refresh_token)?))
}

/// The user whose password this is, spending the same time whether the account exists.
fn check_password(store: &atende_data::Store, email: &str, password: &str) -> Result<Option<User>> {
    match store.user_by_email(email)? {
        Some(user) if password::verify(&user.password_hash, password) => Ok(Some(user)),
        Some(_) => Ok(None),
        None => {
            password::verify_nothing(password);
            Ok(None)
        }
    }
}

fn token_pair(
    state: &AppState,
    user: &User,
    family: FamilyId,
    refresh_token: String,
) -> Result<TokenPair> {
    Ok(TokenPair {
        access_token: state.tokens.issue(user, family)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
        user: UserView::new(user, &state.hub.board),
    })
}

/// Trades a refresh token for a new pair. The old token stops working; presenting it
/// again revokes the whole sign-in.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "unknown, expired, revoked or reused token", body = ErrorBody),
))]
#[post("/auth/refresh")]
async fn refresh(state: web::Data<AppState>, body: Json<RefreshRequest>) -> Result<HttpResponse> {
    let next = tokens::generate();
    let outcome = state.store.rotate_session(
        &tokens::hash(&body.0.refresh_token),
        &tokens::hash(&next),
        Utc::now(),
    )?;
    state.store.durable().await?;
    match outcome {
        RotateOutcome::Rotated(id, family) => {
            let user = state.store.user(id)?.filter(|u| u.active);
            let user = user.ok_or(INVALID_REFRESH)?;
            Ok(HttpResponse::Ok().json(token_pair(&state, &user, family, next)?))
        }
        RotateOutcome::Reused(id, family) => {
            tracing::warn!(user_id = %id, "a spent refresh token was presented; sign-in revoked");
            state.hub.bus.do_send(SignInEnded { user: id, family });
            Err(INVALID_REFRESH)
        }
        RotateOutcome::Invalid => Err(INVALID_REFRESH),
    }
}

/// Ends the sign-in of this refresh token: its refresh token and every access token of it
/// stop working at once.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, security(("bearer" = [])), responses(
    (status = 204, description = "signed out"),
))]
#[post("/auth/logout")]
async fn logout(
    state: web::Data<AppState>,
    session: Session,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse> {
    let hash = tokens::hash(&body.0.refresh_token);
    if state.store.session_owner(&hash)? == Some(session.0.id) {
        if let Some((user, family)) = state.store.end_session(&hash)? {
            state.store.durable().await?;
            state.hub.bus.do_send(SignInEnded { user, family });
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = UserView),
))]
#[get("/auth/me")]
async fn me(state: web::Data<AppState>, session: Session) -> HttpResponse {
    HttpResponse::Ok().json(UserView::new(&session.0, &state.hub.board))
}

/// Changes the caller's password. Every session of the user ends, this one included:
/// sign in again with the new password.
#[utoipa::path(tag = "auth", request_body = PasswordChange, security(("bearer" = [])), responses(
    (status = 204, description = "changed"),
    (status = 400, description = "wrong current password or a weak new one", body = ErrorBody),
    (status = 429, body = ErrorBody),
))]
#[post("/auth/password")]
async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    body: Json<PasswordChange>,
) -> Result<HttpResponse> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.0;
    let user = session.0;
    Fields::default()
        .password("new_password", &new_password)
        .check(
            new_password != current_password,
            "new_password",
            "must differ from the current password",
        )
        .finish()?;
    confirm_password(&state, &req, &user, current_password, "current_password").await?;
    let hash = web::block(move || password::hash(&new_password)).await??;
    let changed = state.store.update_user(user.id, |u| {
        u.password_hash = hash.clone();
        u.must_change_password = false;
        u.session_epoch += 1;
        Ok(())
    })?;
    state.store.end_all_sessions(user.id)?;
    state.store.durable().await?;
    state.hub.bus.do_send(UserChanged {
        user: changed,
        end_sessions: true,
    });
    tracing::info!(user_id = %user.id, "password changed");
    super::audit::record(
        &state,
        &req,
        Some(user.id),
        "auth.password_changed",
        None,
        None,
    )?;
    Ok(HttpResponse::NoContent().finish())
}

/// Checks that `password` is `user`'s, as a confirmation of a change to their sign-in;
/// wrong, it is a failed sign-in (rate-limited as those are) and an error on `field`.
pub(super) async fn confirm_password(
    state: &AppState,
    req: &HttpRequest,
    user: &User,
    password: String,
    field: &str,
) -> Result<()> {
    let address = client_address(req);
    if let Some(wait) = state.limits.logins.wait(&address, &user.email) {
        return Err(Error::RateLimited {
            retry_after: wait.as_secs().max(1),
        });
    }
    let stored = user.password_hash.clone();
    if web::block(move || password::verify(&stored, &password)).await? {
        Ok(())
    } else {
        state.limits.logins.failed(&address, &user.email);
        Err(Error::field(field, "is not correct"))
    }
}
