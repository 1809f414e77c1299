//! Key encodings: big-endian integers and byte-joined tuples, so range scans are ordered.

/// Joins fixed-width key parts into one key.
pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        key.extend_from_slice(part);
    }
    key
}

/// Reads a big-endian `u64` from the start of `bytes`, if there are eight of them.
pub fn read_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// Microseconds since the epoch as an order-preserving big-endian key part.
pub fn time(at: chrono::DateTime<chrono::Utc>) -> [u8; 8] {
    // Shifting the sign bit makes negative times sort before positive ones.
    ((at.timestamp_micros() as u64) ^ (1 << 63)).to_be_bytes()
}

/// A `chats_by_contact` key: the contact, then the chat (a contact's chats in id order).
pub(crate) fn contact_key(contact: crate::ContactId, chat: crate::ChatId) -> Vec<u8> {
    join(&[&contact.key(), &chat.key()])
}

/// A `chats_by_status_time` key: status, index time, chat.
pub(crate) fn status_key(chat: &crate::Chat) -> Vec<u8> {
    join(&[
        &[chat.status.code()],
        &time(chat.index_time()),
        &chat.id.key(),
    ])
}

/// A `chats_by_time` key: last activity, chat.
pub(crate) fn time_key(chat: &crate::Chat) -> Vec<u8> {
    join(&[&time(chat.updated_at), &chat.id.key()])
}

/// A `chats_by_assignee` key: user, status, index time, chat.
pub(crate) fn assignee_key(user: [u8; 8], chat: &crate::Chat) -> Vec<u8> {
    join(&[
        &user,
        &[chat.status.code()],
        &time(chat.index_time()),
        &chat.id.key(),
    ])
}

/// A `messages` key: chat, message (a chat's messages in id order).
pub(crate) fn message_key(chat: crate::ChatId, message: crate::MessageId) -> Vec<u8> {
    join(&[&chat.key(), &message.key()])
}

/// A `client_ids` key: chat, the client's id.
pub(crate) fn client_key(chat: crate::ChatId, client_id: &str) -> Vec<u8> {
    join(&[&chat.key(), client_id.as_bytes()])
}

/// A `search` key: term, 0, chat.
pub(crate) fn search_key(term: &str, chat: crate::ChatId) -> Vec<u8> {
    join(&[term.as_bytes(), &[0], &chat.key()])
}

/// A `campaign_sends` key: campaign, contact (a campaign's sends in contact order).
pub(crate) fn send_key(campaign: crate::CampaignId, contact: crate::ContactId) -> Vec<u8> {
    join(&[&campaign.key(), &contact.key()])
}

/// The tree names, one per record kind and index (docs/ARCHITECTURE.md, "Storage").
pub mod trees {
    pub const META: &str = "meta";
    pub const USERS: &str = "users";
    pub const USERS_BY_EMAIL: &str = "users_by_email";
    pub const REFRESH_TOKENS: &str = "refresh_tokens";
    pub const REFRESH_FAMILIES: &str = "refresh_families";
    pub const CONTACTS: &str = "contacts";
    /// Schema 3: (key kind, key, 0, business number) -> contact id.
    pub const CONTACTS_BY_KEY: &str = "contacts_by_key";
    /// Raw webhook entries the hub could not use, with their reason (replayable).
    pub const UNPROCESSED: &str = "unprocessed";
    /// The business numbers the admin configured.
    pub const NUMBERS: &str = "numbers";
    pub const CHATS: &str = "chats";
    pub const CHATS_BY_STATUS_TIME: &str = "chats_by_status_time";
    pub const CHATS_BY_ASSIGNEE: &str = "chats_by_assignee";
    pub const CHATS_BY_TIME: &str = "chats_by_time";
    pub const CHATS_BY_CONTACT: &str = "chats_by_contact";
    pub const CLIENT_IDS: &str = "client_ids";
    pub const PENDING_STATUSES: &str = "pending_statuses";
    pub const SEARCH: &str = "search";
    pub const MESSAGES: &str = "messages";
    pub const MESSAGES_BY_WAMID: &str = "messages_by_wamid";
    pub const OUTBOX: &str = "outbox";
    /// The event log's tree until schema 2 (the log is in files since).
    pub const EVENTS: &str = "events";
    pub const MEDIA: &str = "media";
    pub const SETTINGS: &str = "settings";
    pub const QUEUES: &str = "queues";
    pub const CANNED_RESPONSES: &str = "canned_responses";
    pub const AUDIT: &str = "audit";
    pub const REPORTS: &str = "reports";
    /// The record of the write being applied (see `write.rs`).
    pub const JOURNAL: &str = "journal";
    /// API tokens by id.
    pub const API_TOKENS: &str = "api_tokens";
    /// Outgoing webhook subscriptions by id.
    pub const WEBHOOK_SUBSCRIPTIONS: &str = "webhook_subscriptions";
    /// (subscription id, event number) -> delivery.
    pub const WEBHOOK_DELIVERIES: &str = "webhook_deliveries";
    /// The keys of the deliveries still pending, so start-up need not read them all.
    pub const WEBHOOK_PENDING: &str = "webhook_pending";
    /// Campaigns by id.
    pub const CAMPAIGNS: &str = "campaigns";
    /// (campaign id, contact id) -> that contact's send of the campaign.
    pub const CAMPAIGN_SENDS: &str = "campaign_sends";
    /// (chat id, id) -> a message scheduled for later.
    pub const SCHEDULED: &str = "scheduled";
    /// (time, kind, chat id, id) -> (): the pending scheduled messages and snooze ends.
    pub const SCHEDULED_DUE: &str = "scheduled_due";
    /// (id) -> an event promised to the webhooks whose deliveries are not yet made.
    pub const HOOK_INTENTS: &str = "hook_intents";

    /// Every tree the current schema has.
    pub const ALL: &[&str] = &[
        META,
        USERS,
        USERS_BY_EMAIL,
        REFRESH_TOKENS,
        REFRESH_FAMILIES,
        CONTACTS,
        CONTACTS_BY_KEY,
        UNPROCESSED,
        NUMBERS,
        CHATS,
        CHATS_BY_STATUS_TIME,
        CHATS_BY_ASSIGNEE,
        CHATS_BY_TIME,
        CHATS_BY_CONTACT,
        CLIENT_IDS,
        PENDING_STATUSES,
        SEARCH,
        MESSAGES,
        MESSAGES_BY_WAMID,
        OUTBOX,
        MEDIA,
        SETTINGS,
        QUEUES,
        CANNED_RESPONSES,
        AUDIT,
        REPORTS,
        JOURNAL,
        API_TOKENS,
        WEBHOOK_SUBSCRIPTIONS,
        WEBHOOK_DELIVERIES,
        WEBHOOK_PENDING,
        CAMPAIGNS,
        CAMPAIGN_SENDS,
        SCHEDULED,
        SCHEDULED_DUE,
        HOOK_INTENTS,
    ];
}

/// Keys of the `meta` tree.
pub mod meta {
    pub const SCHEMA_VERSION: &[u8] = b"schema_version";
    pub const JWT_KEY: &[u8] = b"jwt_key";
    /// The newest event the webhook dispatcher made deliveries for.
    pub const HOOKS_CURSOR: &[u8] = b"hooks_cursor";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_big_endian_keys_sort_numerically() {
        let a = join(&[&1u64.to_be_bytes(), &255u64.to_be_bytes()]);
        let b = join(&[&2u64.to_be_bytes(), &0u64.to_be_bytes()]);
        assert!(a < b);
        assert_eq!(read_u64(&b), Some(2));
        assert_eq!(read_u64(&[1, 2]), None);
    }
}
