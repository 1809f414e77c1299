//! Reading chats, messages, the outbox and media; every list is served from an index,
//! never by scanning every chat or message (search: `search.rs`).

use crate::keys::{client_key, message_key, read_u64};
use crate::records::chat::{Chat, ChatStatus, Message, PendingStatus};
use crate::records::media::MediaRecord;
use crate::records::outbox::OutboxEntry;
use crate::store::{decode, encode};
use crate::{ChatId, MediaId, MessageId, OutboxId, Result, Store, UserId};

/// Index entries a list request may examine before it answers with what it has and a
/// cursor to go on (a filter that matches little must not turn into a full scan).
const MAX_SCAN: usize = 5_000;
/// Whose chats.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum AssigneeFilter {
    #[default]
    Any,
    Nobody,
    User(UserId),
}

/// What a chat list asks for.
#[derive(Clone, Debug, Default)]
pub struct ChatFilter {
    pub status: Option<ChatStatus>,
    pub assignee: AssigneeFilter,
    pub queue: Option<String>,
    pub tag: Option<String>,
    /// Contact name, number or message text.
    pub search: Option<String>,
    /// An agent's view: only their chats and pending chats of their queues.
    pub visible_to: Option<Visibility>,
    /// Only chats put aside (true) or only those not (false).
    pub snoozed: Option<bool>,
    /// Where the previous page ended.
    pub cursor: Option<Vec<u8>>,
    pub limit: usize,
}

/// What an agent may see.
#[derive(Clone, Debug, PartialEq)]
pub struct Visibility {
    pub user: UserId,
    pub queues: Vec<String>,
}

impl Visibility {
    /// Whether the agent may see `chat`: it is theirs, or it waits in one of their queues
    /// (or in no queue).
    pub fn allows(&self, chat: &Chat) -> bool {
        chat.assignee == Some(self.user)
            || (chat.status == ChatStatus::Pending
                && chat
                    .queue_id
                    .as_ref()
                    .is_none_or(|q| self.queues.contains(q)))
    }
}

/// One page of chats.
#[derive(Debug)]
pub struct ChatPage {
    pub chats: Vec<Chat>,
    pub next_cursor: Option<Vec<u8>>,
}

impl ChatFilter {
    pub(crate) fn matches(&self, chat: &Chat) -> bool {
        self.status.is_none_or(|s| chat.status == s)
            && match &self.assignee {
                AssigneeFilter::Any => true,
                AssigneeFilter::Nobody => chat.assignee.is_none(),
                AssigneeFilter::User(u) => chat.assignee == Some(*u),
            }
            && self
                .queue
                .as_ref()
                .is_none_or(|q| chat.queue_id.as_ref() == Some(q))
            && self.tag.as_ref().is_none_or(|t| chat.tags.contains(t))
            && self.visible_to.as_ref().is_none_or(|v| v.allows(chat))
            && self
                .snoozed
                .is_none_or(|s| s == chat.snoozed(chrono::Utc::now()))
    }
}

impl Store {
    /// One chat.
    pub fn chat(&self, id: ChatId) -> Result<Option<Chat>> {
        get(&self.trees().chats, id.key())
    }

    /// A page of chats as `filter` asks: newest activity first, except pending chats
    /// (oldest first, the order they are served in).
    pub fn chats(&self, filter: &ChatFilter) -> Result<ChatPage> {
        if let Some(query) = filter.search.as_deref().filter(|q| !q.trim().is_empty()) {
            return self.search_chats(query, filter);
        }
        let t = self.trees();
        let (tree, prefix, oldest_first) = match (&filter.assignee, filter.status) {
            (AssigneeFilter::User(user), status) => {
                let mut prefix = user.key().to_vec();
                prefix.extend(status.map(ChatStatus::code));
                (&t.by_assignee, prefix, status == Some(ChatStatus::Pending))
            }
            // Waiting chats, the people's and the bots', oldest first.
            (_, Some(status)) => (
                &t.by_status_time,
                vec![status.code()],
                matches!(status, ChatStatus::Pending | ChatStatus::Bot),
            ),
            (_, None) => (&t.by_time, Vec::new(), false),
        };
        let mut entries: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> =
            match (&filter.cursor, oldest_first) {
                (Some(c), true) => Box::new(tree.range(after(c)..).take_while(prefixed(&prefix))),
                (Some(c), false) => Box::new(tree.range(prefix.clone()..c.clone()).rev()),
                (None, true) => Box::new(tree.scan_prefix(&prefix)),
                (None, false) => Box::new(tree.scan_prefix(&prefix).rev()),
            };
        let mut chats = Vec::new();
        let mut last_key = None;
        for (examined, entry) in entries.by_ref().enumerate() {
            let (key, _) = entry?;
            last_key = Some(key.to_vec());
            let id = ChatId(read_u64(&key[key.len() - 8..]).unwrap_or(0));
            if let Some(chat) = self.chat(id)? {
                if filter.matches(&chat) {
                    chats.push(chat);
                }
            }
            if chats.len() >= filter.limit || examined + 1 >= MAX_SCAN {
                break;
            }
        }
        let more = entries.next().is_some();
        Ok(ChatPage {
            chats,
            next_cursor: last_key.filter(|_| more),
        })
    }

    /// One message of a chat.
    pub fn message(&self, chat: ChatId, id: MessageId) -> Result<Option<Message>> {
        get(&self.trees().messages, message_key(chat, id))
    }

    /// Up to `limit` messages before `before` (or the newest), oldest first, and whether
    /// older ones exist.
    pub fn messages(
        &self,
        chat: ChatId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<(Vec<Message>, bool)> {
        let start = message_key(chat, MessageId(0));
        let end = message_key(chat, before.unwrap_or(MessageId(u64::MAX)));
        let mut entries = self.trees().messages.range(start..end).rev();
        let mut messages = Vec::with_capacity(limit);
        for entry in entries.by_ref().take(limit) {
            messages.push(decode(&entry?.1)?);
        }
        let more = entries.next().is_some();
        messages.reverse();
        Ok((messages, more))
    }

    /// Which message has this wamid.
    pub fn message_by_wamid(&self, wamid: &str) -> Result<Option<(ChatId, MessageId)>> {
        Ok(self
            .trees()
            .by_wamid
            .get(wamid.as_bytes())?
            .and_then(|key| Some((ChatId(read_u64(&key)?), MessageId(read_u64(&key[8..])?)))))
    }

    /// The message a client sent with this client id, if any (idempotent sends).
    pub fn message_by_client_id(&self, chat: ChatId, client_id: &str) -> Result<Option<Message>> {
        match self.trees().client_ids.get(client_key(chat, client_id))? {
            Some(id) => self.message(chat, MessageId(read_u64(&id).unwrap_or(0))),
            None => Ok(None),
        }
    }

    /// Every queued Cloud API request, oldest first (read once at start).
    pub fn outbox_entries(&self) -> Result<Vec<OutboxEntry>> {
        self.trees().outbox.iter().map(|e| decode(&e?.1)).collect()
    }

    /// One queued Cloud API request, if it still waits.
    pub fn outbox_entry(&self, id: OutboxId) -> Result<Option<OutboxEntry>> {
        get(&self.trees().outbox, id.key())
    }

    /// Rewrites a queued request (its attempts, its dispatch mark) only if it still waits;
    /// false when it is gone, finished meanwhile (a status webhook recorded the send).
    pub fn outbox_replace(&self, entry: &OutboxEntry) -> Result<bool> {
        let bytes = encode(entry)?;
        let _gate = self.writing();
        let previous = self
            .trees()
            .outbox
            .fetch_and_update(entry.id.key(), |old| old.map(|_| bytes.clone()))?;
        Ok(previous.is_some())
    }

    /// How many requests wait in the outbox.
    pub fn outbox_len(&self) -> usize {
        self.trees().outbox.len()
    }

    /// Keeps a status whose message is not known yet; the furthest status wins.
    pub fn put_pending_status(&self, wamid: &str, status: &PendingStatus) -> Result<()> {
        let tree = &self.trees().pending_statuses;
        let _gate = self.writing();
        if let Some(old) = get::<PendingStatus>(tree, wamid.as_bytes())? {
            if !old.status.may_become(status.status) {
                return Ok(());
            }
        }
        tree.insert(wamid.as_bytes(), encode(status)?)?;
        Ok(())
    }

    /// A status that waited for this wamid.
    pub fn pending_status(&self, wamid: &str) -> Result<Option<PendingStatus>> {
        get(&self.trees().pending_statuses, wamid.as_bytes())
    }

    /// A media file's metadata.
    pub fn media(&self, id: MediaId) -> Result<Option<MediaRecord>> {
        get(&self.trees().media, id.key())
    }

    /// Media whose download is still to do (resumed at start).
    pub fn pending_media(&self) -> Result<Vec<MediaRecord>> {
        let mut out = Vec::new();
        for entry in self.trees().media.iter() {
            let media: MediaRecord = decode(&entry?.1)?;
            if media.state == crate::MediaState::Pending
                && media.wa_media_id.is_some()
                && media.chat_id.is_some()
            {
                out.push(media);
            }
        }
        Ok(out)
    }

    /// A fresh id for a chat, message, outbox entry or media file.
    pub fn new_id(&self) -> Result<u64> {
        self.next_id()
    }
}

fn get<T: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    key: impl AsRef<[u8]>,
) -> Result<Option<T>> {
    tree.get(key)?.map(|bytes| decode(&bytes)).transpose()
}

/// The smallest key after `key`.
fn after(key: &[u8]) -> Vec<u8> {
    let mut next = key.to_vec();
    next.push(0);
    next
}

fn prefixed(prefix: &[u8]) -> impl Fn(&sled::Result<(sled::IVec, sled::IVec)>) -> bool + '_ {
    move |entry| {
        entry
            .as_ref()
            .map(|(k, _)| k.starts_with(prefix))
            .unwrap_or(true)
    }
}
