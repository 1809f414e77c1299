//! What an API token needs to use each route: one table, read by the authenticating
//! extractor for every request that carries a token. A route missing here is refused to
//! every token, so a new route is closed to integrations until it is listed.
//!
//! People signed in are not scoped: their role decides, through the extractors in auth.rs.

use actix_web::http::Method;
use atende_data::TokenScope;

/// What a route asks of a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Any valid token (who am I).
    AnyToken,
    /// A token with this scope (or `admin`, which holds every scope).
    Scope(TokenScope),
}

use Need::{AnyToken, Scope};
use TokenScope::*;

/// (method, path below /api/v1, need). Routes for people only (claiming a chat, a user's
/// own password, sign-out and second factor, the sandbox) are absent on purpose.
pub const ROUTES: &[(&str, &str, Need)] = &[
    ("GET", "/auth/me", AnyToken),
    ("GET", "/chats", Scope(ChatsRead)),
    ("GET", "/chats/{id}", Scope(ChatsRead)),
    ("GET", "/chats/{id}/messages", Scope(ChatsRead)),
    ("GET", "/media/{id}", Scope(ChatsRead)),
    ("GET", "/queues", Scope(ChatsRead)),
    ("GET", "/numbers", Scope(ChatsRead)),
    ("GET", "/labels", Scope(ChatsRead)),
    ("PUT", "/labels", Scope(Admin)),
    ("GET", "/templates", Scope(ChatsRead)),
    ("GET", "/canned-responses", Scope(ChatsRead)),
    ("PATCH", "/chats/{id}", Scope(ChatsWrite)),
    ("POST", "/chats/{id}/transfer", Scope(ChatsWrite)),
    ("POST", "/chats/{id}/close", Scope(ChatsWrite)),
    ("POST", "/chats/{id}/reopen", Scope(ChatsWrite)),
    ("POST", "/chats/{id}/notes", Scope(ChatsWrite)),
    ("POST", "/chats/{id}/read", Scope(ChatsWrite)),
    ("POST", "/chats/{id}/handoff", Scope(ChatsWrite)),
    ("POST", "/chats/{id}/messages", Scope(MessagesSend)),
    (
        "POST",
        "/chats/{id}/messages/{message_id}/forward",
        Scope(MessagesSend),
    ),
    (
        "PATCH",
        "/chats/{id}/messages/{message_id}",
        Scope(ChatsWrite),
    ),
    ("GET", "/chats/{id}/scheduled", Scope(ChatsRead)),
    ("GET", "/scheduled", Scope(ChatsRead)),
    ("POST", "/chats/{id}/scheduled", Scope(MessagesSend)),
    (
        "DELETE",
        "/chats/{id}/scheduled/{scheduled_id}",
        Scope(MessagesSend),
    ),
    ("POST", "/chats/{id}/snooze", Scope(ChatsWrite)),
    ("DELETE", "/chats/{id}/snooze", Scope(ChatsWrite)),
    ("POST", "/media", Scope(MessagesSend)),
    ("GET", "/contacts", Scope(ContactsRead)),
    ("GET", "/contacts/export", Scope(ContactsRead)),
    ("POST", "/contacts/import", Scope(ContactsWrite)),
    ("GET", "/contact-fields", Scope(ContactsRead)),
    ("PUT", "/contact-fields", Scope(Admin)),
    ("GET", "/contacts/{key}", Scope(ContactsRead)),
    ("GET", "/contacts/{key}/chats", Scope(ContactsRead)),
    ("PATCH", "/contacts/{key}", Scope(ContactsWrite)),
    ("DELETE", "/contacts/{key}", Scope(Admin)),
    ("GET", "/campaigns", Scope(Campaigns)),
    ("POST", "/campaigns", Scope(Campaigns)),
    ("GET", "/campaigns/{id}", Scope(Campaigns)),
    ("GET", "/campaigns/{id}/sends", Scope(Campaigns)),
    ("POST", "/campaigns/{id}/start", Scope(Campaigns)),
    ("POST", "/campaigns/{id}/pause", Scope(Campaigns)),
    ("POST", "/campaigns/{id}/resume", Scope(Campaigns)),
    ("POST", "/campaigns/{id}/cancel", Scope(Campaigns)),
    ("GET", "/contacts/{key}/export", Scope(Admin)),
    ("POST", "/retention/run", Scope(Admin)),
    ("GET", "/audit", Scope(Admin)),
    ("GET", "/backup", Scope(Admin)),
    ("POST", "/canned-responses", Scope(Admin)),
    ("PATCH", "/canned-responses/{id}", Scope(Admin)),
    ("DELETE", "/canned-responses/{id}", Scope(Admin)),
    ("POST", "/numbers", Scope(Admin)),
    ("PATCH", "/numbers/{id}", Scope(Admin)),
    ("DELETE", "/numbers/{id}", Scope(Admin)),
    ("POST", "/queues", Scope(Admin)),
    ("PATCH", "/queues/{id}", Scope(Admin)),
    ("DELETE", "/queues/{id}", Scope(Admin)),
    ("GET", "/queues/live", Scope(Admin)),
    ("GET", "/qr.svg", Scope(Admin)),
    ("GET", "/reports/summary", Scope(Admin)),
    ("GET", "/settings", Scope(Admin)),
    ("PUT", "/settings", Scope(Admin)),
    ("GET", "/webhooks/unprocessed", Scope(Admin)),
    ("POST", "/webhooks/unprocessed/{id}/replay", Scope(Admin)),
    ("GET", "/users", Scope(Admin)),
    ("POST", "/users", Scope(Admin)),
    ("GET", "/users/{id}", Scope(Admin)),
    ("PATCH", "/users/{id}", Scope(Admin)),
    ("DELETE", "/users/{id}", Scope(Admin)),
    ("DELETE", "/users/{id}/2fa", Scope(Admin)),
    ("GET", "/tokens", Scope(Admin)),
    ("POST", "/tokens", Scope(Admin)),
    ("PATCH", "/tokens/{id}", Scope(Admin)),
    ("DELETE", "/tokens/{id}", Scope(Admin)),
    ("GET", "/integrations/webhooks", Scope(Admin)),
    ("POST", "/integrations/webhooks", Scope(Admin)),
    ("PATCH", "/integrations/webhooks/{id}", Scope(Admin)),
    ("DELETE", "/integrations/webhooks/{id}", Scope(Admin)),
    (
        "GET",
        "/integrations/webhooks/{id}/deliveries",
        Scope(Admin),
    ),
    (
        "POST",
        "/integrations/webhooks/{id}/deliveries/{delivery}/redeliver",
        Scope(Admin),
    ),
];

/// What a token needs for `method` on the route `pattern` (as actix matched it, with its
/// `/api/v1` prefix); `None`: no token may use it.
pub fn need(method: &Method, pattern: &str) -> Option<Need> {
    let path = pattern.strip_prefix("/api/v1")?;
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == path)
        .map(|(_, _, need)| *need)
}
