//! Reading chats, messages, contacts, the outbox and media; every list is served from an
//! index, never by scanning every chat or message.

use std::collections::HashSet;

use crate::keys::read_u64;
use crate::records::chat::{Chat, ChatStatus, Message, PendingStatus};
use crate::records::media::MediaRecord;
use crate::records::outbox::OutboxEntry;
use crate::search;
use crate::store::{decode, encode};
use crate::write::{client_key, message_key};
use crate::{ChatId, MediaId, MessageId, OutboxId, Result, Store, UserId};

/// Index entries a list request may examine before it answers with what it has and a
/// cursor to go on (a filter that matches little must not turn into a full scan).
const MAX_SCAN: usize = 5_000;
/// Search index entries read per query term.
const MAX_TERM_HITS: usize = 10_000;
/// Up to this many chats found, they are read and sorted; beyond, the chats are walked
/// by last activity until a page is full (at this density a page is found quickly).
const FEW_HITS: usize = 2_000;
/// A query term that begins at most this many indexed words is looked up word by word in
/// each chat walked; more, and its index entries are read.
const MAX_WORDS: usize = 16;
/// Chats walked by last activity, per chat wanted, before a search reads the index
/// entries instead (its words are rare).
const WALK_PER_WANTED: usize = 10;

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
    fn matches(&self, chat: &Chat) -> bool {
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
            (_, Some(status)) => (
                &t.by_status_time,
                vec![status.code()],
                status == ChatStatus::Pending,
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

    fn search_chats(&self, query: &str, filter: &ChatFilter) -> Result<ChatPage> {
        let mut terms = search::terms(query);
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= search::MIN_TERM && !terms.contains(&digits) {
            terms.push(digits);
        }
        let skip = filter.cursor.as_deref().and_then(read_u64).unwrap_or(0) as usize;
        let wanted = skip.saturating_add(filter.limit).saturating_add(1);
        let chats = match self.walk_for_words(&terms, filter, wanted)? {
            Some(chats) => chats,
            None => self.chats_by_hits(&terms, filter, wanted)?,
        };
        let more = chats.len() > skip.saturating_add(filter.limit);
        let chats: Vec<Chat> = chats.into_iter().skip(skip).take(filter.limit).collect();
        let next = skip.saturating_add(chats.len()) as u64;
        Ok(ChatPage {
            chats,
            next_cursor: more.then(|| next.to_be_bytes().to_vec()),
        })
    }

    /// Common words, found fast whatever the number of chats: walks the chats by last
    /// activity and looks each term's words up in each, until `wanted` chats match. `None`
    /// when a term begins too many words, or when the walk ends its budget with too few
    /// chats (rare words: their index entries are fewer to read).
    fn walk_for_words(
        &self,
        terms: &[String],
        filter: &ChatFilter,
        wanted: usize,
    ) -> Result<Option<Vec<Chat>>> {
        let mut words = Vec::new();
        for term in terms {
            match self.words_beginning(term)? {
                Some(found) if !found.is_empty() => words.push(found),
                Some(_) => return Ok(Some(Vec::new())),
                None => return Ok(None),
            }
        }
        if words.is_empty() {
            // Nothing searchable in the query (too short): nothing is found.
            return Ok(Some(Vec::new()));
        }
        let search = &self.trees().search;
        // The chat has, for every term, one of the words it begins.
        let has_all = |id: &[u8]| -> Result<bool> {
            for term_words in &words {
                let mut any = false;
                for word in term_words {
                    if search.contains_key([word.as_slice(), &[0], id].concat())? {
                        any = true;
                        break;
                    }
                }
                if !any {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        let mut chats = Vec::new();
        let budget = wanted.saturating_mul(WALK_PER_WANTED);
        let mut walked = 0;
        for entry in self.trees().by_time.iter().rev().take(budget) {
            walked += 1;
            let (key, _) = entry?;
            let id = &key[key.len().saturating_sub(8)..];
            if !has_all(id)? {
                continue;
            }
            if let Some(chat) = self.chat(ChatId(read_u64(id).unwrap_or(0)))? {
                if filter.matches(&chat) {
                    chats.push(chat);
                    if chats.len() >= wanted {
                        return Ok(Some(chats));
                    }
                }
            }
        }
        // Every chat walked: the answer is whole.
        Ok((walked < budget).then_some(chats))
    }

    /// The indexed words `term` begins, if there are at most [`MAX_WORDS`].
    fn words_beginning(&self, term: &str) -> Result<Option<Vec<Vec<u8>>>> {
        let search = &self.trees().search;
        let mut words = Vec::new();
        let mut from = term.as_bytes().to_vec();
        while let Some(entry) = search.range(from.clone()..).next() {
            let (key, _) = entry?;
            let Some(end) = key.iter().position(|b| *b == 0) else {
                break;
            };
            if !key[..end].starts_with(term.as_bytes()) {
                break;
            }
            if words.len() == MAX_WORDS {
                return Ok(None);
            }
            // Past every entry of this word: the word, then a byte above the separator.
            from = [&key[..end], &[1]].concat();
            words.push(key[..end].to_vec());
        }
        Ok(Some(words))
    }

    /// Reads each term's index entries (the newest [`MAX_TERM_HITS`]) and keeps the chats
    /// in all of them, newest activity first: few are read and sorted, many are picked
    /// from the chats walked by last activity.
    fn chats_by_hits(
        &self,
        terms: &[String],
        filter: &ChatFilter,
        wanted: usize,
    ) -> Result<Vec<Chat>> {
        let mut found: Option<HashSet<u64>> = None;
        for term in terms {
            // From the end of the key range: for a whole word, the newest chats first.
            let hits: HashSet<u64> = self
                .trees()
                .search
                .scan_prefix(term.as_bytes())
                .rev()
                .take(MAX_TERM_HITS)
                .filter_map(|e| e.ok().and_then(|(k, _)| read_u64(&k[k.len() - 8..])))
                .collect();
            found = Some(match found {
                Some(prev) => prev.intersection(&hits).copied().collect(),
                None => hits,
            });
        }
        let found = found.unwrap_or_default();
        let mut chats = Vec::new();
        if found.len() <= FEW_HITS {
            for id in found {
                if let Some(chat) = self.chat(ChatId(id))?.filter(|c| filter.matches(c)) {
                    chats.push(chat);
                }
            }
            chats.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
        } else {
            // A common word: walk the chats by last activity until the page is full,
            // rather than reading every chat that has the word.
            for entry in self.trees().by_time.iter().rev() {
                let (key, _) = entry?;
                let Some(id) = read_u64(&key[key.len() - 8..]) else {
                    continue;
                };
                if !found.contains(&id) {
                    continue;
                }
                if let Some(chat) = self.chat(ChatId(id))?.filter(|c| filter.matches(c)) {
                    chats.push(chat);
                    if chats.len() >= wanted {
                        break;
                    }
                }
            }
        }
        Ok(chats)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Contact, ContactId, Write};

    /// `n` chats whose contacts are named by `name(i)`, the last the most recent.
    fn store_with(n: u64, name: impl Fn(u64) -> String) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let start = chrono::Utc::now();
        for i in 0..n {
            let at = start + chrono::Duration::seconds(i as i64);
            let mut contact = Contact::new(ContactId(i + 10_000), "n", at);
            contact.wa_id = Some(format!("5511{i:09}"));
            contact.name = Some(name(i));
            let chat = Chat::new(ChatId(i + 1), contact.id, "n", at);
            let mut write = Write::default();
            write
                .chat(None, &chat)
                .contact(&contact)
                .contact_terms(&contact, chat.id);
            store.commit(write).unwrap();
        }
        (dir, store)
    }

    fn found(store: &Store, query: &str, limit: usize) -> Vec<u64> {
        let filter = ChatFilter {
            search: Some(query.into()),
            limit,
            ..Default::default()
        };
        let page = store.chats(&filter).unwrap();
        page.chats.iter().map(|c| c.id.0).collect()
    }

    #[test]
    fn common_words_are_walked_and_rare_ones_read_from_the_index() {
        // Beyond the walk's budget for a page of 10 (110 chats).
        let (_dir, store) = store_with(400, |i| match i {
            7 => "Ana Rara".into(),
            i if i % 2 == 0 => format!("Ana Comum{}", i % 4),
            i => format!("Bia Comum Cor{}", i % 40),
        });
        // A common word (the start of five): the newest first.
        assert_eq!(found(&store, "comum", 3), [400, 399, 398]);
        // Two words: only the chats with both.
        assert_eq!(found(&store, "ana comum", 2), [399, 397]);
        // A rare word, far behind the newest chats.
        assert_eq!(found(&store, "rara", 10), [8]);
        // The start of forty words ("cor0" ... "cor39").
        assert_eq!(found(&store, "cor", 2), [400, 398]);
        assert!(found(&store, "nada", 10).is_empty());
        // Nothing long enough to search by.
        assert!(found(&store, "a ?", 10).is_empty());
    }
}
