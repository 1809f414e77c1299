//! Access tokens (HS256 JWTs) and the extractors that authenticate a request.
//!
//! A token names its user, the user's session epoch and its sign-in (the refresh-token
//! family); every request re-reads the user and the sign-in, so deactivating an account,
//! resetting its password (which bumps the epoch), signing out or a stolen refresh token's
//! reuse (which end the family) end its sessions at once, not when the token expires.

use std::future::{ready, Ready};

use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use atende_data::{ApiToken, FamilyId, Role, TokenScope, User, UserId};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::error::Error;
use crate::scopes::Need;
use crate::state::AppState;

/// How long an access token lives; short, because refresh tokens renew it silently.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
/// How long a sign-in lasts without the user signing in again.
pub const REFRESH_TOKEN_DAYS: i64 = 30;

/// What an access token says.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's session epoch when the token was issued.
    pub ep: u64,
    /// The sign-in (refresh-token family) the token belongs to.
    pub fam: u64,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and checks access tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Tokens {
    /// Keys from the signing secret (configured, or generated into the data directory).
    pub fn new(secret: &[u8]) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A fresh access token for `user`'s sign-in `family`.
    pub fn issue(&self, user: &User, family: FamilyId) -> Result<String, Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.id.to_string(),
            ep: user.session_epoch,
            fam: family.0,
            iat: now,
            exp: now + ACCESS_TOKEN_SECONDS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(Error::internal)
    }

    /// The claims of a token with a good signature that has not expired.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

const SIGN_IN: Error = Error::Unauthorized {
    code: "unauthorized",
    message: "sign in first: the access token is missing, invalid or expired",
};
const SESSION_ENDED: Error = Error::Unauthorized {
    code: "session_ended",
    message: "this session has ended; sign in again",
};

/// Who made a request: a person signed in, or an API token acting as a user of its own.
enum Caller {
    Person(User),
    Token(User),
}

fn state_of(req: &HttpRequest) -> Result<&web::Data<AppState>, Error> {
    req.app_data::<web::Data<AppState>>()
        .ok_or_else(|| Error::internal(std::io::Error::other("app state missing")))
}

fn authenticate(req: &HttpRequest) -> Result<Caller, Error> {
    let state = state_of(req)?;
    let token = bearer(req).ok_or(SIGN_IN)?;
    if token.starts_with(API_TOKEN_PREFIX) {
        return authenticate_token(state, req, token).map(Caller::Token);
    }
    signed_in_user(state, token).map(Caller::Person)
}

/// What a signed-in person must do before using the hub, if anything: choose a new
/// password, or enrol a second factor that their role must have.
pub fn step_owed(state: &AppState, user: &User) -> Result<Option<Error>, Error> {
    if user.must_change_password {
        return Ok(Some(Error::PasswordChangeRequired));
    }
    let required = state
        .store
        .settings()?
        .two_factor_roles
        .contains(&user.role);
    Ok(
        (required && !user.two_factor.is_on()).then_some(Error::Forbidden(
            atende_data::refusals::TWO_FACTOR_SETUP_REQUIRED,
        )),
    )
}

/// The user an access token names, while its sign-in lasts: the account active, its
/// session epoch unchanged and the sign-in not ended.
pub fn signed_in_user(state: &AppState, token: &str) -> Result<User, Error> {
    signed_in(state, token).map(|(user, _)| user)
}

/// [`signed_in_user`] with the sign-in (its refresh family), which a socket checks again
/// while it stays open.
pub fn signed_in(state: &AppState, token: &str) -> Result<(User, FamilyId), Error> {
    let claims = state.tokens.verify(token).ok_or(SIGN_IN)?;
    let id: UserId = claims.sub.parse().map_err(|_| SIGN_IN)?;
    let user = state.store.user(id)?.ok_or(SESSION_ENDED)?;
    let lasts = user.active
        && user.session_epoch == claims.ep
        && state
            .store
            .session_lasts(id, FamilyId(claims.fam), Utc::now())?;
    if lasts {
        Ok((user, FamilyId(claims.fam)))
    } else {
        Err(SESSION_ENDED)
    }
}

/// How every API token begins, so it is told from an access token at a glance (and by
/// secret scanners).
pub const API_TOKEN_PREFIX: &str = "atd_";
/// A token's last use is written at most this often.
const TOUCH_EVERY_SECONDS: i64 = 60;

const BAD_TOKEN: Error = Error::Unauthorized {
    code: "invalid_token",
    message: "this API token is not valid: it was revoked, or was never issued",
};

/// A new API token's text for token `id`: the prefix, the id, and 256 random bits.
pub fn new_api_token(id: UserId) -> (String, [u8; 32]) {
    let secret = atende_data::tokens::generate();
    let hash = atende_data::tokens::hash(&secret);
    (format!("{API_TOKEN_PREFIX}{id}_{secret}"), hash)
}

/// The stored token an API token's text names, if its secret matches.
pub fn api_token(state: &AppState, text: &str) -> Result<ApiToken, Error> {
    let rest = text.strip_prefix(API_TOKEN_PREFIX).ok_or(BAD_TOKEN)?;
    let (id, secret) = rest.split_once('_').ok_or(BAD_TOKEN)?;
    let id: UserId = id.parse().map_err(|_| BAD_TOKEN)?;
    let token = state.store.api_token(id)?.ok_or(BAD_TOKEN)?;
    let hash = atende_data::tokens::hash(secret);
    if bool::from(hash.ct_eq(&token.hash)) {
        Ok(token)
    } else {
        Err(BAD_TOKEN)
    }
}

/// An API token's request: the token must hold what the route needs (scopes.rs); it acts
/// as a user of its own, named after it, who sees every chat.
fn authenticate_token(state: &AppState, req: &HttpRequest, text: &str) -> Result<User, Error> {
    let token = api_token(state, text)?;
    let pattern = req.match_pattern().unwrap_or_default();
    let need = crate::scopes::need(req.method(), &pattern);
    match need {
        Some(Need::AnyToken) => {}
        Some(Need::Scope(scope)) if token.allows(scope) => {}
        Some(Need::Scope(scope)) => return Err(Error::ScopeMissing(Some(scope.as_str()))),
        None => return Err(Error::ScopeMissing(None)),
    }
    let now = Utc::now();
    if token
        .last_used_at
        .is_none_or(|at| (now - at).num_seconds() >= TOUCH_EVERY_SECONDS)
    {
        state.store.touch_api_token(token.id, now)?;
    }
    if need == Some(Need::Scope(TokenScope::Admin)) {
        crate::routes::audit::record(
            state,
            req,
            Some(token.id),
            "token.used",
            Some(token.id.to_string()),
            Some(format!("{} {pattern}", req.method())),
        )?;
    }
    Ok(token_user(&token))
}

/// The user an API token acts as.
pub fn token_user(token: &ApiToken) -> User {
    User {
        id: token.id,
        email: String::new(),
        name: token.name.clone(),
        role: if token.scopes.contains(&TokenScope::Admin) {
            Role::Admin
        } else {
            Role::Supervisor
        },
        active: true,
        max_concurrent_chats: 0,
        queue_ids: Vec::new(),
        password_hash: String::new(),
        must_change_password: false,
        session_epoch: 0,
        created_at: token.created_at,
        updated_at: token.created_at,
        two_factor: Default::default(),
    }
}

/// A signed-in user who may use the hub (no password change or two-factor enrolment
/// pending).
pub struct Auth(pub User);

/// A signed-in user, even one who must change their password or enrol a second factor
/// first: only for the few routes that such a user needs (me, change password, sign out,
/// two-factor enrolment).
pub struct Session(pub User);

impl FromRequest for Auth {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|caller| match caller {
            Caller::Token(user) => Ok(Auth(user)),
            Caller::Person(user) => match step_owed(state_of(req)?, &user)? {
                Some(step) => Err(step),
                None => Ok(Auth(user)),
            },
        }))
    }
}

/// A signed-in admin: a route that takes one is for admins only (403 for anyone else),
/// as its signature says.
pub struct Admin(pub User);

/// A signed-in supervisor or admin (403 for an agent).
pub struct Staff(pub User);

/// The extractor of a role: the caller, once `check` has admitted them.
macro_rules! role_extractor {
    ($role:ident, $check:ident) => {
        impl FromRequest for $role {
            type Error = Error;
            type Future = Ready<Result<Self, Error>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                ready(
                    Auth::from_request(req, payload)
                        .into_inner()
                        .and_then(|auth| {
                            auth.$check()?;
                            Ok($role(auth.0))
                        }),
                )
            }
        }
    };
}

role_extractor!(Admin, require_admin);
role_extractor!(Staff, require_staff);

impl FromRequest for Session {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(|caller| match caller {
            Caller::Person(user) | Caller::Token(user) => Session(user),
        }))
    }
}

impl Auth {
    /// Only admins may go on.
    pub fn require_admin(&self) -> Result<(), Error> {
        match self.0.role {
            atende_data::Role::Admin => Ok(()),
            _ => Err(Error::Forbidden(atende_data::refusals::ADMIN_ONLY)),
        }
    }

    /// Only admins and supervisors may go on.
    pub fn require_staff(&self) -> Result<(), Error> {
        if self.0.role.is_staff() {
            Ok(())
        } else {
            Err(Error::Forbidden(atende_data::refusals::STAFF_ONLY))
        }
    }
}
