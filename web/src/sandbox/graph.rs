//! Graph API answers the simulator gives before and instead of doing anything: Meta's
//! error bodies, and the token, version and object-id checks every route makes.

use actix_web::http::{header, StatusCode};
use std::fmt;

use actix_web::{HttpRequest, HttpResponse, ResponseError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::state::{random_u64, Shared};
use super::Failure;

/// One Graph API error, rendered as `{"error": {...}}`; handlers return it with `?`.
#[derive(Debug)]
pub(super) struct GraphError {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
    /// `error_data.details`, which the Cloud API adds to its own errors.
    pub details: Option<String>,
    /// `is_transient`, Meta's hint that retrying may work.
    pub transient: bool,
}

impl GraphError {
    fn new(status: StatusCode, code: i64, message: impl Into<String>) -> GraphError {
        GraphError {
            status,
            code,
            message: message.into(),
            details: None,
            transient: false,
        }
    }

    /// 400, code 100: the request's parameters are wrong; `details` says which.
    pub fn invalid_parameter(details: impl Into<String>) -> GraphError {
        GraphError {
            details: Some(details.into()),
            ..GraphError::new(StatusCode::BAD_REQUEST, 100, "(#100) Invalid parameter")
        }
    }

    /// Code 100: no such object (media id, number, account) for a `verb` request.
    pub fn unknown_object(status: StatusCode, verb: &str, id: &str) -> GraphError {
        let message = format!(
            "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be \
             loaded due to missing permissions, or does not support this operation."
        );
        GraphError::new(status, 100, message)
    }

    /// 503, code 2: the outage switch is on.
    pub fn unavailable() -> GraphError {
        GraphError {
            transient: true,
            ..GraphError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                2,
                "Service temporarily unavailable",
            )
        }
    }

    /// The answer a scripted failure gives once it is its turn (after any delay).
    pub fn scripted(failure: &Failure) -> GraphError {
        match failure {
            Failure::Status(status) => GraphError::for_status(*status),
            Failure::CloudError {
                http_status,
                code,
                title,
            } => GraphError {
                details: Some(title.clone()),
                ..GraphError::new(status_code(*http_status), *code, title.clone())
            },
            Failure::Delay(_) => GraphError {
                transient: true,
                ..GraphError::new(StatusCode::GATEWAY_TIMEOUT, 2, "Request timed out")
            },
            // Not an error answer; the route answers it itself.
            Failure::AnswerLost => GraphError::unavailable(),
        }
    }

    /// A body that fits a bare HTTP status.
    fn for_status(status: u16) -> GraphError {
        let status = status_code(status);
        match status.as_u16() {
            400 => GraphError::invalid_parameter("Scripted failure"),
            401 => GraphError::new(status, 190, "Error validating access token"),
            429 => GraphError::new(status, 130429, "(#130429) Rate limit hit"),
            500..=599 => GraphError {
                transient: true,
                ..GraphError::new(status, 2, "Service temporarily unavailable")
            },
            _ => GraphError::new(status, 1, "An unknown error occurred"),
        }
    }

    /// The response, shaped as Meta's.
    fn response(&self) -> HttpResponse {
        let mut error = json!({
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": fbtrace_id(),
        });
        if let Some(details) = &self.details {
            error["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
        }
        if self.transient {
            error["is_transient"] = Value::Bool(true);
        }
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            // As the Graph API does, for clients that look at the header rather than the body.
            response.insert_header((header::WWW_AUTHENTICATE, "OAuth \"Facebook Platform\""));
        }
        response.json(json!({"error": error}))
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl ResponseError for GraphError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

/// Checks the version segment and the Bearer token.
pub(super) fn check(sim: &Shared, req: &HttpRequest, version: &str) -> Result<(), GraphError> {
    if !is_version(version) {
        return Err(unknown_path(req.path()));
    }
    check_token(sim, req)
}

/// Checks the Bearer token alone (media downloads have no version segment).
pub(super) fn check_token(sim: &Shared, req: &HttpRequest) -> Result<(), GraphError> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(token) if token == sim.config.access_token => Ok(()),
        Some(_) => Err(GraphError::new(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        )),
        None => Err(GraphError::new(
            StatusCode::UNAUTHORIZED,
            190,
            "An active access token must be used to query information about the current user.",
        )),
    }
}

/// Checks that a path names the simulator's own number or account (`verb`: how the
/// request is described in the error, "get" or "post").
/// A business number of the simulated account, else Meta's unknown-object error.
pub(super) fn check_number(config: &super::SimConfig, given: &str) -> Result<(), GraphError> {
    if config.serves(given) {
        return Ok(());
    }
    check_object(&config.phone_number_id, given, "post")
}

pub(super) fn check_object(expected: &str, given: &str, verb: &str) -> Result<(), GraphError> {
    if expected == given {
        return Ok(());
    }
    Err(GraphError::unknown_object(
        StatusCode::BAD_REQUEST,
        verb,
        given,
    ))
}

/// 400, code 2500: a path the Graph API does not have.
pub(super) fn unknown_path(path: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        2500,
        format!("Unknown path components: {path}"),
    )
}

/// `v` then digits, a dot, digits: `v23.0`.
fn is_version(segment: &str) -> bool {
    let Some((major, minor)) = segment
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
    else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

/// An out-of-range scripted status becomes 500 rather than a panic.
fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Meta's request id, which its error bodies carry for support tickets.
fn fbtrace_id() -> String {
    format!("A{}", URL_SAFE_NO_PAD.encode(random_u64().to_be_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_v_digits_dot_digits() {
        for good in ["v23.0", "v1.0", "v19.12"] {
            assert!(is_version(good), "{good}");
        }
        for bad in ["23.0", "v23", "v.0", "v23.", "vx.0", "download", ""] {
            assert!(!is_version(bad), "{bad}");
        }
    }
}
