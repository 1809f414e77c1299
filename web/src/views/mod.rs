//! How records look in the API, in one place: users, list pages and the error body here;
//! chats, messages and contacts (and the events' data) in `conversation`.

use std::collections::BTreeMap;

use atende_data::User;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::Error;

mod conversation;
pub use conversation::{render_event, ChatView, ContactView, MessageView};

/// Page size when a list request names none.
pub const DEFAULT_PAGE: u32 = 50;
/// Largest page a list request may ask for.
pub const MAX_PAGE: u32 = 200;

/// A user as the API shows it (never the password hash).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    #[schema(value_type = RoleName)]
    pub role: atende_data::Role,
    pub active: bool,
    pub max_concurrent_chats: u32,
    pub queue_ids: Vec<String>,
    /// online, away or offline.
    pub presence: &'static str,
    pub must_change_password: bool,
    /// Sign-in asks for an authenticator's code.
    pub two_factor_enabled: bool,
}

impl UserView {
    /// The view of `user`, with their presence as the hub knows it.
    pub fn new(user: &User, board: &atende_actors::agent_session::PresenceBoard) -> Self {
        UserView {
            id: user.id.to_string(),
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
            active: user.active,
            max_concurrent_chats: user.max_concurrent_chats,
            queue_ids: user.queue_ids.clone(),
            presence: board.get(user.id).as_str(),
            must_change_password: user.must_change_password,
            two_factor_enabled: user.two_factor.is_on(),
        }
    }
}

/// What a user may do (the schema of `atende_data::Role`).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Admin,
    Supervisor,
    Agent,
}

/// A reply button's title: up to 20 characters besides the spaces around it.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(max_length = 20, pattern = r"\S")]
pub struct ButtonTitle(String);

/// A queue's id, as a list of queues names it.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(max_length = 64, pattern = r"\S")]
pub struct QueueRef(String);

/// A chat's tag: up to 32 characters besides the spaces around it.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(max_length = 32, pattern = r"\S")]
pub struct TagName(String);

/// A chat's status as the document names it (`atende_data::ChatStatus` is the record).
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "lowercase")]
pub enum ChatStatusName {
    Pending,
    Open,
    Closed,
    Bot,
}

/// An API token's scope as the document names it (`atende_data::TokenScope` is the record).
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum ScopeName {
    #[schema(rename = "chats:read")]
    ChatsRead,
    #[schema(rename = "chats:write")]
    ChatsWrite,
    #[schema(rename = "messages:send")]
    MessagesSend,
    #[schema(rename = "contacts:read")]
    ContactsRead,
    #[schema(rename = "contacts:write")]
    ContactsWrite,
    #[schema(rename = "campaigns")]
    Campaigns,
    #[schema(rename = "admin")]
    Admin,
}

/// An event an outgoing webhook may ask for (`atende_actors::hooks::HOOK_EVENTS`), or `*`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum HookEventName {
    #[schema(rename = "message.created")]
    MessageCreated,
    #[schema(rename = "message.updated")]
    MessageUpdated,
    #[schema(rename = "chat.created")]
    ChatCreated,
    #[schema(rename = "chat.assigned")]
    ChatAssigned,
    #[schema(rename = "chat.updated")]
    ChatUpdated,
    #[schema(rename = "chat.closed")]
    ChatClosed,
    #[schema(rename = "contact.updated")]
    ContactUpdated,
    #[schema(rename = "csat.answered")]
    CsatAnswered,
    #[schema(rename = "*")]
    All,
}

/// `?limit=&cursor=` of every list.
#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    /// 1 to 200; 50 when absent.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,19}$")]
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page size asked for, checked.
    pub fn limit(&self) -> Result<usize, Error> {
        page_limit(self.limit)
    }
}

/// The page size a list request asks for (`?limit=`), checked against 1..=200.
pub fn page_limit(limit: Option<u32>) -> Result<usize, Error> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        n @ 1..=MAX_PAGE => Ok(n as usize),
        _ => Err(Error::field("limit", "must be between 1 and 200")),
    }
}

/// The `cursor` of a list whose cursors are ids (`None`: the first page); anything else
/// is refused as a field error.
pub fn page_cursor<T: std::str::FromStr>(cursor: Option<&str>) -> Result<Option<T>, Error> {
    cursor
        .map(|c| {
            c.parse()
                .map_err(|_| Error::field("cursor", "is not a cursor of this list"))
        })
        .transpose()
}

/// One page of a list.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A list given whole, in one page.
    pub fn whole(items: impl IntoIterator<Item = T>) -> Self {
        Page {
            items: items.into_iter().collect(),
            next_cursor: None,
        }
    }
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `validation_failed`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// For `validation_failed`: the problem of each field.
    pub fields: Option<BTreeMap<String, String>>,
}
