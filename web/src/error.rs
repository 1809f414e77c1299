//! The one place where errors become HTTP responses.
//!
//! Every failure, ours or actix's, reaches the client as
//! `{"error": {"code", "message", "fields"?}}` with a stable snake_case code; the log gets
//! the cause chain of internal errors, the client a short sentence.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that breaks a rule; `fields` says which field and why.
    #[error("{message}")]
    Validation {
        message: String,
        fields: BTreeMap<String, String>,
    },
    /// No or a bad credential.
    #[error("{message}")]
    Unauthorized {
        code: &'static str,
        message: &'static str,
    },
    /// Signed in, but not allowed to do this; each reason has its own code
    /// (`atende_data::refusals::DENIALS`).
    #[error("{}", .0.message)]
    Forbidden(atende_data::refusals::Refusal),
    /// An API token without the scope a route needs (`None`: the route is for people).
    #[error("{}", match .0 { Some(scope) => format!("this API token lacks the scope {scope}"), None => "this route is for people signed in, not API tokens".into() })]
    ScopeMissing(Option<&'static str>),
    /// Signed in with a password that must be changed before anything else.
    #[error("the password must be changed before using the hub")]
    PasswordChangeRequired,
    /// No such resource, or one the caller may not know of.
    #[error("not found")]
    NotFound,
    /// The method is not served at this path.
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// The change contradicts the current state; each rule has its own code
    /// (`atende_data::refusals`, the one list of them).
    #[error("{}", .0.message)]
    Conflict(atende_data::refusals::Refusal),
    /// A field names what the hub's current state lacks (a queue that does not exist, a
    /// number left out where there are several): 409 with the refusal's code and the field,
    /// so a form shows it beside the field.
    #[error("{field}: {problem}")]
    ConflictOn {
        refusal: atende_data::refusals::Refusal,
        field: String,
        problem: String,
    },
    /// Outside the 24-hour customer-service window only templates may be sent.
    #[error("the 24-hour customer-service window is closed: only a template message can be sent")]
    WindowClosed,
    /// An authentication template needs a phone; this customer is known only by a BSUID.
    #[error("an authentication template can only go to a phone number, and this customer is known only by their WhatsApp username")]
    NeedsPhone,
    /// The body is over the size limit.
    #[error("the request body is too large")]
    TooLarge,
    /// The body is not of a type this endpoint takes.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// Too many requests; try again after `retry_after` seconds.
    #[error("too many requests; try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// A dependency is not working (readiness).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: logged in full, told to the client in one word.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation failure of one field.
    pub fn field(field: &str, problem: impl Into<String>) -> Error {
        let problem = problem.into();
        Error::Validation {
            message: format!("{field}: {problem}"),
            fields: BTreeMap::from([(field.to_string(), problem)]),
        }
    }

    /// The hub's state refusing what `field` says (409 with `refusal`'s code and the field).
    pub fn conflict_on(
        refusal: atende_data::refusals::Refusal,
        field: &str,
        problem: impl Into<String>,
    ) -> Error {
        Error::ConflictOn {
            refusal,
            field: field.to_string(),
            problem: problem.into(),
        }
    }

    /// A field naming a record that does not exist (409 `unknown_reference`).
    pub fn unknown(field: &str, problem: impl Into<String>) -> Error {
        Error::conflict_on(atende_data::refusals::UNKNOWN_REFERENCE, field, problem)
    }

    /// Any failure the client cannot act on.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Internal(Box::new(cause))
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation { .. } => "validation_failed",
            Error::Unauthorized { code, .. } => code,
            Error::Forbidden(denial) => denial.code,
            Error::PasswordChangeRequired => "password_change_required",
            Error::ScopeMissing(_) => "scope_missing",
            Error::NotFound => "not_found",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::Conflict(refusal) | Error::ConflictOn { refusal, .. } => refusal.code,
            Error::TooLarge => "too_large",
            Error::WindowClosed => "window_closed",
            Error::NeedsPhone => "recipient_needs_phone",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::RateLimited { .. } => "rate_limited",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// The error for a bare status that some layer produced without a body of ours.
    pub fn from_status(status: StatusCode) -> Error {
        match status.as_u16() {
            401 => Error::Unauthorized {
                code: "unauthorized",
                message: "sign in first",
            },
            403 => Error::Forbidden(atende_data::refusals::FORBIDDEN),
            404 => Error::NotFound,
            405 => Error::MethodNotAllowed,
            413 => Error::TooLarge,
            415 => Error::UnsupportedMediaType("unsupported content type"),
            429 => Error::RateLimited { retry_after: 1 },
            400..=499 => Error::Validation {
                message: status
                    .canonical_reason()
                    .unwrap_or("bad request")
                    .to_lowercase(),
                fields: BTreeMap::new(),
            },
            _ => Error::Internal("an inner layer failed".into()),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a BTreeMap<String, String>>,
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::Validation { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::PasswordChangeRequired | Error::ScopeMissing(_) => {
                StatusCode::FORBIDDEN
            }
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Conflict(_) | Error::ConflictOn { .. } => StatusCode::CONFLICT,
            Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::WindowClosed | Error::NeedsPhone => StatusCode::UNPROCESSABLE_ENTITY,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Error::Internal(cause) = self {
            tracing::error!(error = %chain(cause.as_ref()), "request failed");
        }
        let one;
        let fields = match self {
            Error::Validation { fields, .. } if !fields.is_empty() => Some(fields),
            Error::ConflictOn { field, problem, .. } => {
                one = BTreeMap::from([(field.clone(), problem.clone())]);
                Some(&one)
            }
            _ => None,
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Error::RateLimited { retry_after } = self {
            response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
        }
        response.json(Body {
            error: Inner {
                code: self.code(),
                message: self.to_string(),
                fields,
            },
        })
    }
}

/// "outer: inner: innermost", for logs.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<atende_data::Error> for Error {
    fn from(error: atende_data::Error) -> Self {
        match error {
            atende_data::Error::NotFound => Error::NotFound,
            atende_data::Error::Conflict(refusal) => Error::Conflict(refusal),
            // The disk: the client should try again later (Meta retries webhooks).
            other if other.is_storage() => {
                tracing::error!(error = %chain(&other), "storage failure");
                Error::Unavailable("the hub cannot write to its disk; try again later".into())
            }
            other => Error::internal(other),
        }
    }
}

impl From<atende_actors::Error> for Error {
    fn from(error: atende_actors::Error) -> Self {
        use atende_actors::Error as A;
        match error {
            A::NotFound => Error::NotFound,
            A::Forbidden(message) => Error::Forbidden(message),
            A::Conflict(refusal) => Error::Conflict(refusal),
            A::WindowClosed => Error::WindowClosed,
            A::Invalid {
                refusal,
                field,
                problem,
            } => Error::conflict_on(refusal, field, problem),
            A::Data(error) => error.into(),
            A::Stopped => Error::Unavailable("the hub is shutting down".into()),
        }
    }
}

impl From<actix::MailboxError> for Error {
    fn from(_: actix::MailboxError) -> Self {
        Error::Unavailable("the hub is shutting down".into())
    }
}

impl From<actix_web::error::BlockingError> for Error {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Error::internal(error)
    }
}
