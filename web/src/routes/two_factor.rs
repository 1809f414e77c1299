//! Two-factor sign-in of one's own account (enrol, confirm, new recovery codes, turn
//! off), an admin's reset for a user who lost their phone, and the code check of sign-in.
//! The codes themselves are `crate::two_factor`'s.

use std::cell::Cell;

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use atende_actors::events::UserChanged;
use atende_data::refusals::{
    TWO_FACTOR_MANDATORY, TWO_FACTOR_NOT_STARTED, TWO_FACTOR_OFF, TWO_FACTOR_ON,
};
use atende_data::{TwoFactor, User, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::confirm_password;
use crate::auth::{Admin, Session};
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::two_factor::{self, Spent};
use crate::views::ErrorBody;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(status)
        .service(setup)
        .service(enable)
        .service(recovery_codes)
        .service(disable)
        .service(reset);
}

const INVALID_CODE: Error = Error::Unauthorized {
    code: "invalid_two_factor_code",
    message: "the code is wrong, expired or already used",
};

/// Where the caller's two-factor sign-in stands.
#[derive(Serialize, ToSchema)]
pub struct TwoFactorStatus {
    /// Sign-in asks for a code.
    pub enabled: bool,
    /// The caller's role must have it (an admin setting); until it is on, only this,
    /// `/auth/me`, the password change and sign-out answer.
    pub required: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: usize,
    pub enabled_at: Option<DateTime<Utc>>,
}

/// What an authenticator app needs: scan the QR code, or type the secret.
#[derive(Serialize, ToSchema)]
pub struct TwoFactorSetup {
    /// The secret in base 32, for apps that cannot scan.
    pub secret: String,
    /// The `otpauth://totp/...` address the QR code holds.
    pub otpauth_url: String,
    /// The QR code as an SVG image.
    pub qr_svg: String,
}

/// A code from the authenticator being enrolled.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableTwoFactor {
    /// The six digits the authenticator app shows now.
    #[schema(max_length = 32)]
    pub code: String,
}

/// The caller's password, to confirm a change of their sign-in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfirmation {
    #[schema(max_length = 4096)]
    pub password: String,
}

/// Recovery codes, shown this once: each signs in once in place of a code.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

fn status_of(state: &AppState, user: &User) -> Result<TwoFactorStatus> {
    let two = &user.two_factor;
    Ok(TwoFactorStatus {
        enabled: two.is_on(),
        required: state
            .store
            .settings()?
            .two_factor_roles
            .contains(&user.role),
        recovery_codes_left: if two.is_on() { two.recovery.len() } else { 0 },
        enabled_at: two.enabled_at,
    })
}

/// Where the caller's two-factor sign-in stands.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = TwoFactorStatus),
))]
#[get("/auth/2fa")]
async fn status(state: web::Data<AppState>, session: Session) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(status_of(&state, &session.0)?))
}

/// Starts enrolling an authenticator app: a new secret, shown once as a QR code and as
/// text. Sign-in does not ask for codes until one of its codes confirms it
/// (`/auth/2fa/enable`); starting again replaces the secret.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = TwoFactorSetup),
    (status = 409, description = "`two_factor_on`: turn it off first", body = ErrorBody),
))]
#[post("/auth/2fa/setup")]
async fn setup(state: web::Data<AppState>, session: Session) -> Result<HttpResponse> {
    let user = session.0;
    if user.two_factor.is_on() {
        return Err(Error::Conflict(TWO_FACTOR_ON));
    }
    let secret = two_factor::new_secret();
    let user = state.store.update_user(user.id, |u| {
        u.two_factor.pending = Some(secret.clone());
        Ok(())
    })?;
    state.store.durable().await?;
    let enrolment = two_factor::enrolment(&secret, &user)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TwoFactorSetup {
            secret: enrolment.secret,
            otpauth_url: enrolment.otpauth_url,
            qr_svg: enrolment.qr_svg,
        }))
}

/// Confirms the authenticator with one of its codes: two-factor sign-in is on from now,
/// and the ten recovery codes are shown, this once.
#[utoipa::path(tag = "auth", request_body = EnableTwoFactor, security(("bearer" = [])), responses(
    (status = 200, body = RecoveryCodes),
    (status = 400, description = "the code is not the authenticator's", body = ErrorBody),
    (status = 409, description = "`two_factor_on`, or `two_factor_not_started`", body = ErrorBody),
))]
#[post("/auth/2fa/enable")]
async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    body: Json<EnableTwoFactor>,
) -> Result<HttpResponse> {
    let user = session.0;
    if user.two_factor.is_on() {
        return Err(Error::Conflict(TWO_FACTOR_ON));
    }
    let pending = user
        .two_factor
        .pending
        .clone()
        .ok_or(Error::Conflict(TWO_FACTOR_NOT_STARTED))?;
    code_allowed(&state, user.id)?;
    let code: String = body.0.code.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(step) = two_factor::code_step(&pending, &code, now()) else {
        state.limits.codes.failed(user.id.0);
        return Err(Error::field(
            "code",
            "is not the code the authenticator app shows now",
        ));
    };
    state.limits.codes.succeeded(user.id.0);
    let (codes, hashes) = two_factor::new_recovery_codes();
    let changed = state.store.update_user(user.id, |u| {
        if u.two_factor.pending.as_ref() == Some(&pending) {
            u.two_factor = TwoFactor {
                secret: Some(pending.clone()),
                pending: None,
                recovery: hashes.clone(),
                last_step: step,
                enabled_at: Some(Utc::now()),
            };
            Ok(())
        } else {
            // Enrolment started again meanwhile: this code was of the replaced secret.
            Err(atende_data::Error::Conflict(TWO_FACTOR_NOT_STARTED))
        }
    })?;
    state.store.durable().await?;
    tracing::info!(user_id = %user.id, "two-factor sign-in turned on");
    super::audit::record(&state, &req, Some(user.id), "auth.2fa_enabled", None, None)?;
    state.hub.bus.do_send(UserChanged {
        user: changed,
        end_sessions: false,
    });
    Ok(no_store_codes(codes))
}

/// Replaces the recovery codes with ten new ones (the old ones stop working).
#[utoipa::path(tag = "auth", request_body = PasswordConfirmation, security(("bearer" = [])), responses(
    (status = 200, body = RecoveryCodes),
    (status = 400, description = "the password is not correct", body = ErrorBody),
    (status = 409, description = "`two_factor_off`", body = ErrorBody),
))]
#[post("/auth/2fa/recovery-codes")]
async fn recovery_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    body: Json<PasswordConfirmation>,
) -> Result<HttpResponse> {
    let user = session.0;
    if !user.two_factor.is_on() {
        return Err(Error::Conflict(TWO_FACTOR_OFF));
    }
    confirm_password(&state, &req, &user, body.0.password, "password").await?;
    let (codes, hashes) = two_factor::new_recovery_codes();
    state.store.update_user(user.id, |u| {
        u.two_factor.recovery = hashes.clone();
        Ok(())
    })?;
    state.store.durable().await?;
    super::audit::record(
        &state,
        &req,
        Some(user.id),
        "auth.2fa_recovery_codes",
        None,
        None,
    )?;
    Ok(no_store_codes(codes))
}

/// Turns two-factor sign-in off, unless the caller's role must have it.
#[utoipa::path(tag = "auth", request_body = PasswordConfirmation, security(("bearer" = [])), responses(
    (status = 204, description = "off"),
    (status = 400, description = "the password is not correct", body = ErrorBody),
    (status = 409, description = "`two_factor_off`, or `two_factor_mandatory` for the caller's role", body = ErrorBody),
))]
#[post("/auth/2fa/disable")]
async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    body: Json<PasswordConfirmation>,
) -> Result<HttpResponse> {
    let user = session.0;
    if !user.two_factor.is_on() {
        return Err(Error::Conflict(TWO_FACTOR_OFF));
    }
    if status_of(&state, &user)?.required {
        return Err(Error::Conflict(TWO_FACTOR_MANDATORY));
    }
    confirm_password(&state, &req, &user, body.0.password, "password").await?;
    let changed = state.store.update_user(user.id, |u| {
        u.two_factor = TwoFactor::default();
        Ok(())
    })?;
    state.store.durable().await?;
    tracing::info!(user_id = %user.id, "two-factor sign-in turned off");
    super::audit::record(&state, &req, Some(user.id), "auth.2fa_disabled", None, None)?;
    state.hub.bus.do_send(UserChanged {
        user: changed,
        end_sessions: false,
    });
    Ok(HttpResponse::NoContent().finish())
}

/// Turns off a user's two-factor sign-in, for one who lost their authenticator and their
/// recovery codes: their sessions end, and they sign in with the password alone (and
/// enrol again at once if their role must have it).
#[utoipa::path(tag = "users", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 204, description = "reset"),
))]
#[delete("/users/{id}/2fa")]
async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id: UserId = path.parse().map_err(|_| Error::NotFound)?;
    let user = state.store.update_user(id, |u| {
        u.two_factor = TwoFactor::default();
        u.session_epoch += 1;
        Ok(())
    })?;
    state.store.end_all_sessions(id)?;
    state.store.durable().await?;
    tracing::info!(user_id = %id, by = %auth.0.id, "two-factor sign-in reset");
    super::audit::record(
        &state,
        &req,
        Some(auth.0.id),
        "user.2fa_reset",
        Some(id.to_string()),
        None,
    )?;
    state.hub.bus.do_send(UserChanged {
        user,
        end_sessions: true,
    });
    Ok(HttpResponse::NoContent().finish())
}

/// Checks a sign-in's second factor and spends it, so the same code never signs in twice;
/// a wrong one is `invalid_two_factor_code`, counted against the account (too many, and
/// the account waits).
pub(super) async fn sign_in_code(
    state: &AppState,
    req: &HttpRequest,
    user: &User,
    code: &str,
) -> Result<()> {
    code_allowed(state, user.id)?;
    let spent = two_factor::check(&user.two_factor, code, now());
    let accepted = Cell::new(false);
    if let Some(spent) = spent {
        state.store.update_user(user.id, |u| {
            accepted.set(two_factor::spend(&mut u.two_factor, spent));
            Ok(())
        })?;
    }
    if !accepted.get() {
        state.limits.codes.failed(user.id.0);
        tracing::info!(user_id = %user.id, "a wrong second-factor code");
        super::audit::record(state, req, Some(user.id), "auth.2fa_failed", None, None)?;
        return Err(INVALID_CODE);
    }
    state.limits.codes.succeeded(user.id.0);
    if let Some(Spent::Recovery(_)) = spent {
        let left = user.two_factor.recovery.len().saturating_sub(1);
        super::audit::record(
            state,
            req,
            Some(user.id),
            "auth.2fa_recovery_code_used",
            None,
            Some(format!("{left} left")),
        )?;
    }
    Ok(())
}

fn code_allowed(state: &AppState, id: UserId) -> Result<()> {
    match state.limits.codes.wait(id.0) {
        Some(wait) => Err(Error::RateLimited {
            retry_after: wait.as_secs().max(1),
        }),
        None => Ok(()),
    }
}

fn now() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or_default()
}

fn no_store_codes(codes: Vec<String>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RecoveryCodes {
            recovery_codes: codes,
        })
}
