//! [`Write`]: the changes that must land together (a message, its chat's new state and
//! indexes, its outbox entry ...), and the [`Writer`] that applies them: all of them, or
//! none, even across a crash.
//!
//! Not in a sled transaction: sled 0.34 has one concurrency-control lock for the whole
//! database; a transaction takes it alone, waits for any flush in progress (which holds
//! it shared until the disk has the data) and makes every reader wait in turn; it also
//! reads every key it writes and seals the log buffer. Writes are applied instead as plain
//! inserts behind a journal record. Holding the write gate alone, the writer inserts one
//! record that lists every change of a group of writes, applies the changes and removes
//! the record. After a crash sled recovers a prefix of its log: a record that survived
//! without its removal is applied again when the database is next opened
//! ([`Writer::recover`]); one that did not survive took nothing that followed it along.
//! Whatever else writes these trees holds the gate shared, so no other change to the same
//! keys can land between a record and its removal, where replaying the record would undo
//! it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use chrono::{DateTime, Utc};

use crate::keys::{
    assignee_key, client_key, contact_key, message_key, search_key, status_key, time_key,
};
use crate::records::chat::{Chat, Message};
use crate::records::contact::Contact;
use crate::records::event::Intent;
use crate::records::media::MediaRecord;
use crate::records::outbox::OutboxEntry;
use crate::records::report::DayStats;
use crate::reports;
use crate::search;
use crate::store::{encode, encode_compact};
use crate::{ChatId, OutboxId, Result, Store, UserId};

/// The trees a [`Write`] touches, in the order of [`Writer`]'s.
#[derive(Clone, Copy)]
pub(crate) enum T {
    Chats,
    ByStatusTime,
    ByAssignee,
    ByTime,
    ByContact,
    Messages,
    ByWamid,
    ClientIds,
    Outbox,
    Contacts,
    ContactsByKey,
    Search,
    PendingStatuses,
    Media,
    Reports,
    CampaignSends,
    HookIntents,
}

pub(crate) const WRITE_TREES: usize = 17;

/// The key of the journal record (one at most: groups are applied one at a time).
const JOURNAL_KEY: &[u8] = b"write";

/// One change: a tree (its index in [`Writer`]'s), a key and the new value (`None`:
/// removed).
type Op = (usize, Vec<u8>, Option<Vec<u8>>);
/// An [`Op`] read back from a journal record.
type RecordedOp<'a> = (usize, &'a [u8], Option<&'a [u8]>);

/// Changes to apply together.
#[derive(Default)]
pub struct Write {
    /// In order: a later change of a key wins.
    ops: Vec<Op>,
    /// Report counters to add to, by key.
    counts: Vec<(Vec<u8>, DayStats)>,
    error: Option<crate::Error>,
}

impl Write {
    fn put(&mut self, tree: T, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let (key, value) = (key.as_ref().to_vec(), value.as_ref().to_vec());
        self.ops.push((tree as usize, key, Some(value)));
    }

    fn remove(&mut self, tree: T, key: impl AsRef<[u8]>) {
        self.ops.push((tree as usize, key.as_ref().to_vec(), None));
    }

    /// Whether this write changes anything in `tree`.
    #[cfg(test)]
    fn touches(&self, tree: T) -> bool {
        self.ops.iter().any(|(t, ..)| *t == tree as usize)
    }

    fn encoded<V: serde::Serialize>(
        &mut self,
        value: &V,
        encode: fn(&V) -> crate::Result<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        match encode(value) {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                self.error.get_or_insert(error);
                None
            }
        }
    }

    /// A chat's new state; `before` (its stored state) tells which index keys to move.
    pub fn chat(&mut self, before: Option<&Chat>, chat: &Chat) -> &mut Self {
        // An index key that stays the same is neither removed nor written again: each tree
        // and key a write touches costs it a lookup and a write.
        let keys = |c: &Chat| {
            [
                (T::ByStatusTime, Some(status_key(c))),
                (T::ByTime, Some(time_key(c))),
                (T::ByAssignee, c.assignee.map(|u| assignee_key(u.key(), c))),
            ]
        };
        let old = before.map(keys);
        for (i, (tree, key)) in keys(chat).into_iter().enumerate() {
            let old = old.as_ref().and_then(|old| old[i].1.clone());
            if old == key {
                continue;
            }
            if let Some(old) = old {
                self.remove(tree, old);
            }
            if let Some(key) = key {
                self.put(tree, key, []);
            }
        }
        if before.is_none() {
            self.put(
                T::ByContact,
                contact_key(chat.contact_id, chat.id),
                chat.phone_number_id.as_bytes(),
            );
        }
        if let Some(bytes) = self.encoded(chat, encode_compact) {
            self.put(T::Chats, chat.id.key(), bytes);
        }
        self
    }

    /// A new message, with its wamid and client-id indexes and search terms (a term the
    /// chat already has costs only a lookup: sled writes nothing for a value it already
    /// holds).
    pub fn message(&mut self, message: &Message) -> &mut Self {
        self.message_since(None, message)
    }

    /// A changed message; of its indexes and search terms, only what changed (a status
    /// changes none of them).
    pub fn message_changed(&mut self, before: &Message, message: &Message) -> &mut Self {
        self.message_since(Some(before), message)
    }

    fn message_since(&mut self, before: Option<&Message>, message: &Message) -> &mut Self {
        let key = message_key(message.chat_id, message.id);
        let new = |field: fn(&Message) -> Option<&String>| {
            field(message).filter(|value| before.is_none_or(|b| field(b) != Some(*value)))
        };
        if let Some(wamid) = new(|m| m.wamid.as_ref()) {
            self.put(T::ByWamid, wamid.as_bytes(), &key);
        }
        if let Some(client_id) = new(|m| m.client_id.as_ref()) {
            self.put(
                T::ClientIds,
                client_key(message.chat_id, client_id),
                message.id.key(),
            );
        }
        let index = before.is_none_or(|b| searchable(b) != searchable(message));
        for text in searchable(message).into_iter().flatten().filter(|_| index) {
            for term in search::terms(text) {
                self.put(T::Search, search_key(&term, message.chat_id), []);
            }
        }
        if let Some(bytes) = self.encoded(message, encode_compact) {
            self.put(T::Messages, key, bytes);
        }
        self
    }

    /// A contact's new state and the keys it is found by (a contact joined into another
    /// leaves its keys to that one).
    pub fn contact(&mut self, contact: &Contact) -> &mut Self {
        if contact.merged_into.is_none() {
            for (kind, key) in contact.keys() {
                let entry = crate::contacts::key_entry(kind, &key, &contact.phone_number_id);
                self.put(T::ContactsByKey, entry, contact.id.key());
            }
        }
        if let Some(bytes) = self.encoded(contact, encode) {
            self.put(T::Contacts, contact.id.key(), bytes);
        }
        self
    }

    /// Makes the contact's names, username and number find `chat`.
    pub fn contact_terms(&mut self, contact: &Contact, chat: ChatId) -> &mut Self {
        for term in crate::contacts::contact_terms(contact) {
            self.put(T::Search, search_key(&term, chat), []);
        }
        self
    }

    /// Moves a chat's `chats_by_contact` entry to another contact (two were joined).
    pub(crate) fn by_contact_moved(&mut self, from: &[u8], to: Vec<u8>, number: &[u8]) {
        self.remove(T::ByContact, from);
        self.put(T::ByContact, to, number);
    }

    /// Queues a request for the Cloud API.
    pub fn outbox(&mut self, entry: &OutboxEntry) -> &mut Self {
        if let Some(bytes) = self.encoded(entry, encode) {
            self.put(T::Outbox, entry.id.key(), bytes);
        }
        self
    }

    /// Drops a request the Cloud API has taken (or refused for good).
    pub fn outbox_done(&mut self, id: OutboxId) -> &mut Self {
        self.remove(T::Outbox, id.key());
        self
    }

    /// Forgets a status that waited for its message's wamid.
    pub fn pending_status_done(&mut self, wamid: &str) -> &mut Self {
        self.remove(T::PendingStatuses, wamid.as_bytes());
        self
    }

    /// Adds `counts` to the day of `at` for everyone and, when given, for `agent`; see
    /// [`Store::count_report`], which counts outside a write.
    pub fn count(
        &mut self,
        at: DateTime<Utc>,
        agent: Option<UserId>,
        counts: DayStats,
    ) -> &mut Self {
        for key in reports::keys(at, agent) {
            self.counts.push((key, counts.clone()));
        }
        self
    }

    /// A contact's send of a campaign.
    pub fn campaign_send(&mut self, send: &crate::records::campaign::CampaignSend) -> &mut Self {
        if let Some(bytes) = self.encoded(send, encode) {
            self.put(
                T::CampaignSends,
                crate::keys::send_key(send.campaign_id, send.contact_id),
                bytes,
            );
        }
        self
    }

    /// A media file's metadata.
    pub fn media(&mut self, media: &MediaRecord) -> &mut Self {
        if let Some(bytes) = self.encoded(media, encode) {
            self.put(T::Media, media.id.key(), bytes);
        }
        self
    }

    /// An event promised to the webhooks, under `id` (a new id of the store's): it lands
    /// with the change it reports.
    pub fn intent(&mut self, id: u64, intent: &Intent) -> &mut Self {
        if let Some(bytes) = self.encoded(intent, encode) {
            self.put(T::HookIntents, id.to_be_bytes(), bytes);
        }
        self
    }

    /// The error met while building this write (a record that could not be encoded).
    pub(crate) fn take_error(&mut self) -> Option<crate::Error> {
        self.error.take()
    }
}

/// What a message is found by: its text, caption and file name.
fn searchable(message: &Message) -> [Option<&String>; 3] {
    let filename = message.media.as_ref().and_then(|m| m.filename.as_ref());
    [message.text.as_ref(), message.caption.as_ref(), filename]
}

/// Applies [`Write`]s, a group at a time, through the journal.
pub(crate) struct Writer {
    /// The trees a [`Write`] may touch, in the order of [`T`].
    trees: [sled::Tree; WRITE_TREES],
    /// Holds the record of the write being applied, if any.
    journal: sled::Tree,
    /// A write applies holding it alone; other writers of these trees, and a backup while
    /// it reads them, hold it shared.
    gate: RwLock<()>,
    /// A write failed after its record was inserted: the next one finishes it first.
    interrupted: AtomicBool,
}

impl Writer {
    pub(crate) fn new(trees: [sled::Tree; WRITE_TREES], journal: sled::Tree) -> Writer {
        Writer {
            trees,
            journal,
            gate: RwLock::new(()),
            interrupted: AtomicBool::new(false),
        }
    }

    pub(crate) fn gate(&self) -> &RwLock<()> {
        &self.gate
    }

    /// Applies `writes`, in their order: all of them, or (after a crash) the rest of
    /// them once the database is opened again. Their errors must have been taken out
    /// ([`Write::take_error`]).
    pub(crate) fn commit(&self, writes: &mut [Write]) -> Result<(), sled::Error> {
        let _gate = self.gate.write().unwrap_or_else(|p| p.into_inner());
        if self.interrupted.load(Ordering::Relaxed) {
            self.recover()?;
        }
        let mut ops: Vec<Op> = writes
            .iter_mut()
            .flat_map(|w| std::mem::take(&mut w.ops))
            .collect();
        // Counters to the same day add up first: one read and one write each.
        let mut counts: BTreeMap<&[u8], DayStats> = BTreeMap::new();
        for (key, add) in writes.iter().flat_map(|w| &w.counts) {
            counts.entry(key).or_default().add(add);
        }
        let reports = &self.trees[T::Reports as usize];
        for (key, add) in counts {
            if let Some(total) = reports::added(reports.get(key)?.as_deref(), &add) {
                ops.push((T::Reports as usize, key.to_vec(), Some(total)));
            }
        }
        if let [(tree, key, value)] = ops.as_slice() {
            // One change lands whole by itself.
            return self.change(*tree, key, value.as_deref());
        }
        if ops.is_empty() {
            return Ok(());
        }
        self.journal.insert(JOURNAL_KEY, journal_record(&ops))?;
        let applied = ops
            .iter()
            .try_for_each(|(tree, key, value)| self.change(*tree, key, value.as_deref()))
            .and_then(|()| self.journal.remove(JOURNAL_KEY).map(drop));
        if applied.is_err() {
            self.interrupted.store(true, Ordering::Relaxed);
        }
        applied
    }

    fn change(&self, tree: usize, key: &[u8], value: Option<&[u8]>) -> Result<(), sled::Error> {
        let tree = &self.trees[tree];
        match value {
            Some(value) => tree.insert(key, value).map(drop),
            None => tree.remove(key).map(drop),
        }
    }

    /// Applies the write whose record is in the journal, if any (one that a crash or a
    /// failure interrupted), and removes the record; true if there was one. Applying a
    /// record again is harmless: it holds final values.
    pub(crate) fn recover(&self) -> Result<bool, sled::Error> {
        let Some(record) = self.journal.get(JOURNAL_KEY)? else {
            self.interrupted.store(false, Ordering::Relaxed);
            return Ok(false);
        };
        let ops = read_journal_record(&record).ok_or_else(|| {
            sled::Error::Unsupported("the journal record of an interrupted write is damaged".into())
        })?;
        for (tree, key, value) in ops {
            self.change(tree, key, value)?;
        }
        self.journal.remove(JOURNAL_KEY)?;
        self.interrupted.store(false, Ordering::Relaxed);
        Ok(true)
    }
}

/// A journal record: for each change, its tree (one byte), its key's length (u32 BE) and
/// key, then 0 (removed) or 1, the value's length (u32 BE) and the value.
fn journal_record(ops: &[Op]) -> Vec<u8> {
    let size: usize = ops
        .iter()
        .map(|(_, k, v)| 10 + k.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    let mut record = Vec::with_capacity(size);
    for (tree, key, value) in ops {
        record.push(*tree as u8);
        record.extend_from_slice(&(key.len() as u32).to_be_bytes());
        record.extend_from_slice(key);
        match value {
            Some(value) => {
                record.push(1);
                record.extend_from_slice(&(value.len() as u32).to_be_bytes());
                record.extend_from_slice(value);
            }
            None => record.push(0),
        }
    }
    record
}

/// The changes of a [`journal_record`]; `None` if it is damaged.
fn read_journal_record(mut record: &[u8]) -> Option<Vec<RecordedOp<'_>>> {
    fn take<'a>(record: &mut &'a [u8], len: usize) -> Option<&'a [u8]> {
        let (taken, rest) = (record.get(..len)?, record.get(len..)?);
        *record = rest;
        Some(taken)
    }
    fn bytes<'a>(record: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(take(record, 4)?.try_into().ok()?);
        take(record, len as usize)
    }
    let mut ops = Vec::new();
    while !record.is_empty() {
        let tree = *take(&mut record, 1)?.first()? as usize;
        if tree >= WRITE_TREES {
            return None;
        }
        let key = bytes(&mut record)?;
        let value = match take(&mut record, 1)? {
            [0] => None,
            [1] => Some(bytes(&mut record)?),
            _ => return None,
        };
        ops.push((tree, key, value));
    }
    Some(ops)
}

impl Store {
    /// Applies `write` on the calling thread: all of it or none (see the module's notes).
    pub fn commit(&self, mut write: Write) -> Result<()> {
        if let Some(error) = write.take_error() {
            return Err(error);
        }
        self.writer()
            .commit(std::slice::from_mut(&mut write))
            .map_err(|e| {
                if matches!(e, sled::Error::Io(_)) {
                    self.mark_storage_failing();
                }
                crate::Error::Storage(e)
            })
    }

    /// Applies `write` on the group-commit thread, together with every other write queued
    /// meanwhile, and answers once a flush has followed: `Err` when it was not applied,
    /// `Ok(Err)` when it was but the flush failed. For the busiest paths, where many actors
    /// of one thread write at once.
    pub async fn commit_grouped(&self, write: Write) -> Result<Result<()>> {
        self.flusher().commit(write).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChatStatus, UserId};

    /// Every index entry of chat 1, tree by tree.
    fn entries(store: &Store) -> [usize; 3] {
        let t = store.trees();
        [&t.by_status_time, &t.by_time, &t.by_assignee]
            .map(|tree| tree.iter().filter_map(|e| e.ok()).count())
    }

    #[test]
    fn a_chat_keeps_one_entry_per_index_whether_its_keys_move_or_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let start = chrono::Utc::now();
        let mut chat = Chat::new(ChatId(1), crate::ContactId(1), "n", start);
        let mut write = Write::default();
        write.chat(None, &chat);
        store.commit(write).unwrap();
        assert_eq!(entries(&store), [1, 1, 0]);

        // A message: the queue key (pending since) stays, the activity key moves.
        let mut after = chat.clone();
        after.updated_at = start + chrono::Duration::seconds(1);
        let mut write = Write::default();
        write.chat(Some(&chat), &after);
        assert!(!write.touches(T::ByStatusTime));
        store.commit(write).unwrap();
        assert_eq!(entries(&store), [1, 1, 0]);
        chat = after;

        // Claimed: every key moves, and the assignee index gains one.
        let mut after = chat.clone();
        after.status = ChatStatus::Open;
        after.assignee = Some(UserId(7));
        after.updated_at = start + chrono::Duration::seconds(2);
        let mut write = Write::default();
        write.chat(Some(&chat), &after);
        store.commit(write).unwrap();
        assert_eq!(entries(&store), [1, 1, 1]);
        let t = store.trees();
        assert_eq!(
            t.by_status_time.iter().next().unwrap().unwrap().0,
            status_key(&after)
        );
        assert_eq!(
            t.by_time.iter().next().unwrap().unwrap().0,
            time_key(&after)
        );
        chat = after;

        // Closed by its agent: the assignee entry goes with the assignment.
        let mut after = chat.clone();
        after.status = ChatStatus::Closed;
        after.assignee = None;
        let mut write = Write::default();
        write.chat(Some(&chat), &after);
        store.commit(write).unwrap();
        assert_eq!(entries(&store), [1, 1, 0]);
    }

    #[test]
    fn a_changed_message_writes_only_the_indexes_and_terms_that_changed() {
        use crate::records::chat::{Direction, MessageStatus};
        let at = chrono::Utc::now();
        let mut sent = Message::new(
            crate::MessageId(1),
            ChatId(1),
            Direction::Out,
            "text",
            MessageStatus::Sent,
            at,
        );
        sent.text = Some("boleto vencido".into());
        sent.client_id = Some("c-1".into());
        let mut write = Write::default();
        write.message(&sent);
        assert!(write.touches(T::Search) && write.touches(T::ClientIds));
        // The Cloud API's answer names it: its wamid is indexed.
        let before = sent.clone();
        sent.wamid = Some("wamid.S".into());
        let mut write = Write::default();
        write.message_changed(&before, &sent);
        assert!(write.touches(T::ByWamid) && !write.touches(T::Search));
        let mut read = sent.clone();
        read.status = MessageStatus::Read;
        let mut write = Write::default();
        write.message_changed(&sent, &read);
        assert!(write.touches(T::Messages) && !write.touches(T::Search));
        assert!(!write.touches(T::ByWamid) && !write.touches(T::ClientIds));
        let mut edited = read.clone();
        edited.text = Some("boleto pago".into());
        let mut write = Write::default();
        write.message_changed(&read, &edited);
        assert!(write.touches(T::Search));
    }

    #[test]
    fn a_write_a_crash_interrupted_is_finished_when_the_store_opens_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let chat = Chat::new(ChatId(1), crate::ContactId(1), "n", chrono::Utc::now());
        let mut write = Write::default();
        write.chat(None, &chat);
        // What a crash right after the journal record leaves: the record, no change.
        let record = journal_record(&write.ops);
        store
            .writer()
            .journal
            .insert(JOURNAL_KEY, record.clone())
            .unwrap();
        drop(store);

        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.chat(chat.id).unwrap(), Some(chat));
        assert_eq!(entries(&store), [1, 1, 0]);
        assert!(store.writer().journal.is_empty());
        // A record cut short is refused, not half applied.
        assert!(read_journal_record(&record).is_some());
        assert!(read_journal_record(&record[..record.len() - 1]).is_none());
    }

    #[tokio::test]
    async fn grouped_writes_all_land_in_the_order_they_were_queued() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let at = chrono::Utc::now();
        let contact = move |n: usize, name: &str| {
            let mut contact = Contact::new(crate::ContactId(n as u64 + 1), "n", at);
            contact.wa_id = Some(format!("55119{n:08}"));
            contact.profile_name = Some(name.to_string());
            let mut write = Write::default();
            let counts = DayStats {
                messages_in: 1,
                ..Default::default()
            };
            write.contact(&contact).count(at, Some(UserId(7)), counts);
            write
        };
        // Many actors at once: their writes share groups and flushes.
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..200 {
            let store = store.clone();
            tasks.spawn(async move { store.commit_grouped(contact(n, "Ana")).await });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap().unwrap();
        }
        for n in 0..200 {
            let stored = store
                .contact(crate::ContactId(n as u64 + 1))
                .unwrap()
                .unwrap();
            assert_eq!(stored.profile_name.as_deref(), Some("Ana"));
        }
        // Two writes of one record queued one after the other: the later one wins.
        let (first, second) = tokio::join!(
            store.commit_grouped(contact(0, "Bia")),
            store.commit_grouped(contact(0, "Carla")),
        );
        first.unwrap().unwrap();
        second.unwrap().unwrap();
        let stored = store.contact(crate::ContactId(1)).unwrap().unwrap();
        assert_eq!(stored.profile_name.as_deref(), Some("Carla"));
        // Every write's counts, for everyone and for the agent, added up.
        let today = at.date_naive();
        let days = store.report_days(today, today).unwrap();
        let counted: Vec<(UserId, u64)> =
            days.iter().map(|(_, u, s)| (*u, s.messages_in)).collect();
        assert_eq!(counted, [(UserId(0), 202), (UserId(7), 202)]);
    }

    #[test]
    fn writes_queued_while_a_round_commits_are_all_answered() {
        // Writers on their own threads keep the queue filling while groups are applied, so
        // rounds reach their limit of groups: no write may be left unanswered.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let at = chrono::Utc::now();
        let writers: Vec<_> = (0..16)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    for n in 0..100 {
                        let mut write = Write::default();
                        let id = crate::ContactId(t * 1000 + n + 1);
                        write.contact(&Contact::new(id, "n", at));
                        runtime
                            .block_on(store.commit_grouped(write))
                            .unwrap()
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(store.trees().contacts.len(), 1600);
    }
}
