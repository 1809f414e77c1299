//! The actors crate's one error type.

/// What a chat command or an ingest can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such chat, message or media, or one the caller may not know of.
    #[error("not found")]
    NotFound,
    /// The caller may not do this to this chat.
    #[error("{}", .0.message)]
    Forbidden(atende_data::refusals::Refusal),
    /// The chat's state does not allow it (someone else holds it, it is closed ...).
    #[error("{}", .0.message)]
    Conflict(atende_data::refusals::Refusal),
    /// Outside the 24-hour window only a template may be sent.
    #[error("the 24-hour customer-service window is closed: only a template message can be sent")]
    WindowClosed,
    /// A field of the command names what the chat or the hub lacks (an unknown media id, a
    /// reply to an unknown message, an inactive user) or contradicts: 409 with `refusal`'s
    /// code and the field.
    #[error("{field}: {problem}")]
    Invalid {
        refusal: atende_data::refusals::Refusal,
        field: &'static str,
        problem: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Data(#[from] atende_data::Error),
    /// An actor is gone (the hub is shutting down).
    #[error("the hub is shutting down")]
    Stopped,
}

impl From<actix::MailboxError> for Error {
    fn from(_: actix::MailboxError) -> Self {
        Error::Stopped
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
