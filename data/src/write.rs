//! [`Write`]: the changes that must land together (a message, its chat's new state and
//! indexes, its outbox entry ...), committed in one sled transaction.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Batch, Transactional};

use crate::keys::{join, time};
use crate::records::chat::{Chat, Contact, Message};
use crate::records::media::MediaRecord;
use crate::records::outbox::OutboxEntry;
use crate::records::report::DayStats;
use crate::reports;
use crate::search;
use crate::store::{encode, encode_compact};
use crate::{ChatId, MessageId, OutboxId, Result, Store, UserId};

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
    Search,
    PendingStatuses,
    Media,
    Reports,
}

pub(crate) const WRITE_TREES: usize = 14;

/// Changes to commit atomically.
#[derive(Default)]
pub struct Write {
    batches: [Option<Batch>; WRITE_TREES],
    /// Search index keys, written only where missing (a chat's words repeat).
    terms: Vec<Vec<u8>>,
    /// Report counters to add to, by key.
    counts: Vec<(Vec<u8>, DayStats)>,
    error: Option<crate::Error>,
}

impl Write {
    fn put(&mut self, tree: T, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.batches[tree as usize]
            .get_or_insert_with(Batch::default)
            .insert(key.as_ref(), value.as_ref());
    }

    fn remove(&mut self, tree: T, key: impl AsRef<[u8]>) {
        self.batches[tree as usize]
            .get_or_insert_with(Batch::default)
            .remove(key.as_ref());
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
        // and key a transaction touches costs it a lookup and a write.
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
                contact_key(&chat.wa_id, chat.id),
                chat.phone_number_id.as_bytes(),
            );
            for term in search::number_terms(&chat.wa_id) {
                self.terms.push(search_key(&term, chat.id));
            }
        }
        if let Some(bytes) = self.encoded(chat, encode_compact) {
            self.put(T::Chats, chat.id.key(), bytes);
        }
        self
    }

    /// A new or changed message, with its wamid and client-id indexes and search terms.
    pub fn message(&mut self, message: &Message) -> &mut Self {
        let key = message_key(message.chat_id, message.id);
        if let Some(wamid) = &message.wamid {
            self.put(T::ByWamid, wamid.as_bytes(), &key);
        }
        if let Some(client_id) = &message.client_id {
            self.put(
                T::ClientIds,
                client_key(message.chat_id, client_id),
                message.id.key(),
            );
        }
        for text in [&message.text, &message.caption].into_iter().flatten() {
            for term in search::terms(text) {
                self.terms.push(search_key(&term, message.chat_id));
            }
        }
        if let Some(bytes) = self.encoded(message, encode_compact) {
            self.put(T::Messages, key, bytes);
        }
        self
    }

    /// A contact's new state; names become search terms of `chat`.
    pub fn contact(&mut self, contact: &Contact, chat: Option<ChatId>) -> &mut Self {
        if let Some(chat) = chat {
            for name in [&contact.name, &contact.profile_name].into_iter().flatten() {
                for term in search::terms(name) {
                    self.terms.push(search_key(&term, chat));
                }
            }
        }
        if let Some(bytes) = self.encoded(contact, encode_compact) {
            self.put(T::Contacts, contact.wa_id.as_bytes(), bytes);
        }
        self
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

    /// A media file's metadata.
    pub fn media(&mut self, media: &MediaRecord) -> &mut Self {
        if let Some(bytes) = self.encoded(media, encode) {
            self.put(T::Media, media.id.key(), bytes);
        }
        self
    }

    /// The error met while building this write (a record that could not be encoded).
    pub(crate) fn take_error(&mut self) -> Option<crate::Error> {
        self.error.take()
    }
}

/// What committing needs; shared by the store and its group-commit thread.
pub(crate) struct Writer {
    /// The trees a [`Write`] may touch, in the order of [`T`].
    trees: [sled::Tree; WRITE_TREES],
    /// Commits hold it shared; a backup holds it alone while it reads the trees.
    gate: RwLock<()>,
}

impl Writer {
    pub(crate) fn new(trees: [sled::Tree; WRITE_TREES]) -> Writer {
        Writer {
            trees,
            gate: RwLock::new(()),
        }
    }

    pub(crate) fn gate(&self) -> &RwLock<()> {
        &self.gate
    }

    /// Turns the search terms of `write` into the index entries still missing (a chat's
    /// words repeat); done before committing, outside the transaction.
    pub(crate) fn index_terms(&self, write: &mut Write) -> Result<(), sled::Error> {
        let search = &self.trees[T::Search as usize];
        for key in std::mem::take(&mut write.terms) {
            if !search.contains_key(&key)? {
                write.put(T::Search, key, []);
            }
        }
        Ok(())
    }

    /// Commits `writes` in one transaction, in their order: all of them or none. Their
    /// errors must have been taken out ([`Write::take_error`]).
    pub(crate) fn commit(&self, writes: &mut [Write]) -> Result<(), sled::Error> {
        for write in writes.iter_mut() {
            self.index_terms(write)?;
        }
        // Counters to the same day add up first: one read and one write each.
        let mut counts: BTreeMap<&[u8], DayStats> = BTreeMap::new();
        for (key, add) in writes.iter().flat_map(|w| &w.counts) {
            counts.entry(key).or_default().add(add);
        }
        let _gate = self.gate.read().unwrap_or_else(|p| p.into_inner());
        // Only the trees these writes touch take part: each one costs the transaction.
        let touched: Vec<usize> = (0..WRITE_TREES)
            .filter(|&i| {
                writes.iter().any(|w| w.batches[i].is_some())
                    || (i == T::Reports as usize && !counts.is_empty())
            })
            .collect();
        let trees: Vec<sled::Tree> = touched.iter().map(|&i| self.trees[i].clone()).collect();
        let writes = &*writes;
        trees
            .as_slice()
            .transaction(|tx| {
                for write in writes {
                    for (tree, &i) in tx.iter().zip(&touched) {
                        if let Some(batch) = &write.batches[i] {
                            tree.apply_batch(batch)?;
                        }
                    }
                }
                if let Some(at) = touched.iter().position(|&i| i == T::Reports as usize) {
                    for (&key, add) in &counts {
                        let old = tx[at].get(key)?;
                        if let Some(total) = reports::added(old.as_deref(), add) {
                            tx[at].insert(key, total)?;
                        }
                    }
                }
                Ok::<_, ConflictableTransactionError<Infallible>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => e,
                TransactionError::Abort(never) => match never {},
            })
    }
}

impl Store {
    /// Commits `write` atomically on the calling thread: all of it or none.
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

    /// Commits `write` on the group-commit thread, in one transaction with every other
    /// write queued meanwhile, and answers once a flush has followed: `Err` when it was not
    /// committed, `Ok(Err)` when it was but the flush failed. For the busiest paths, where
    /// many actors of one thread write at once: the thread does not wait for sled's lock.
    pub async fn commit_grouped(&self, mut write: Write) -> Result<Result<()>> {
        // Read here, on the caller's thread: the group-commit thread is the busier.
        self.writer().index_terms(&mut write)?;
        self.flusher().commit(write).await
    }
}

pub(crate) fn status_key(chat: &Chat) -> Vec<u8> {
    join(&[
        &[chat.status.code()],
        &time(chat.index_time()),
        &chat.id.key(),
    ])
}

pub(crate) fn time_key(chat: &Chat) -> Vec<u8> {
    join(&[&time(chat.updated_at), &chat.id.key()])
}

pub(crate) fn assignee_key(user: [u8; 8], chat: &Chat) -> Vec<u8> {
    join(&[
        &user,
        &[chat.status.code()],
        &time(chat.index_time()),
        &chat.id.key(),
    ])
}

pub(crate) fn contact_key(wa_id: &str, chat: ChatId) -> Vec<u8> {
    join(&[wa_id.as_bytes(), &[0], &chat.key()])
}

pub(crate) fn message_key(chat: ChatId, message: MessageId) -> Vec<u8> {
    join(&[&chat.key(), &message.key()])
}

pub(crate) fn client_key(chat: ChatId, client_id: &str) -> Vec<u8> {
    join(&[&chat.key(), client_id.as_bytes()])
}

pub(crate) fn search_key(term: &str, chat: ChatId) -> Vec<u8> {
    join(&[term.as_bytes(), &[0], &chat.key()])
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
        let mut chat = Chat::new(ChatId(1), "5511999990000", "n", start);
        let mut write = Write::default();
        write.chat(None, &chat);
        store.commit(write).unwrap();
        assert_eq!(entries(&store), [1, 1, 0]);

        // A message: the queue key (pending since) stays, the activity key moves.
        let mut after = chat.clone();
        after.updated_at = start + chrono::Duration::seconds(1);
        let mut write = Write::default();
        write.chat(Some(&chat), &after);
        assert!(write.batches[T::ByStatusTime as usize].is_none());
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

    #[tokio::test]
    async fn grouped_writes_all_land_in_the_order_they_were_queued() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let at = chrono::Utc::now();
        let contact = move |n: usize, name: &str| {
            let mut contact = Contact::new(&format!("55119{n:08}"), at);
            contact.profile_name = Some(name.to_string());
            let mut write = Write::default();
            let counts = DayStats {
                messages_in: 1,
                ..Default::default()
            };
            write
                .contact(&contact, None)
                .count(at, Some(UserId(7)), counts);
            write
        };
        // Many actors at once: their writes share transactions and flushes.
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..200 {
            let store = store.clone();
            tasks.spawn(async move { store.commit_grouped(contact(n, "Ana")).await });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap().unwrap();
        }
        for n in 0..200 {
            let stored = store.contact(&format!("55119{n:08}")).unwrap().unwrap();
            assert_eq!(stored.profile_name.as_deref(), Some("Ana"));
        }
        // Two writes of one record queued one after the other: the later one wins.
        let (first, second) = tokio::join!(
            store.commit_grouped(contact(0, "Bia")),
            store.commit_grouped(contact(0, "Carla")),
        );
        first.unwrap().unwrap();
        second.unwrap().unwrap();
        let stored = store.contact("5511900000000").unwrap().unwrap();
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
        // Writers on their own threads keep the queue filling while transactions run, so
        // rounds reach their limit of transactions: no write may be left unanswered.
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
                        write.contact(&Contact::new(&format!("55{t:02}{n:08}"), at), None);
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
