//! The event log (numbered events for resuming sockets; see `event_log`) and the `queues`,
//! `canned_responses` and `audit` trees.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::keys::{message_key, read_u64};
use crate::records::chat::{Chat, Message};
use crate::records::event::{Event, Viewer};
use crate::records::queue::Queue;
use crate::store::{decode, encode};
use crate::{ChatId, ChatStatus, MessageId, Result, Store, UserId};

/// The one field of an event's data that [`Store::unlogged_messages`] reads.
#[derive(serde::Deserialize)]
struct Named {
    id: String,
}

/// How long before the newest logged event a message may have been made and its event
/// still be unlogged when the hub died: from a message's write to its event is a group
/// commit and two hops, milliseconds (p99.9 28 ms at full load in `atende bench ingest`);
/// a disk that stalls longer than this before a crash can still lose one.
pub const UNLOGGED_WINDOW: chrono::Duration = chrono::Duration::seconds(10);

impl Store {
    /// Appends an event (the caller numbers it).
    pub fn append_event(&self, event: &Event) -> Result<()> {
        self.event_log().append(event)
    }

    /// The newest event's number, 0 for none.
    pub fn last_event_seq(&self) -> Result<u64> {
        Ok(self.event_log().last_seq())
    }

    /// The number of the oldest event kept that happened at or after `at`, if any.
    pub fn first_event_at(&self, at: DateTime<Utc>) -> Result<Option<u64>> {
        Ok(self.event_log().first_at(at))
    }

    /// The oldest event still kept, if any.
    pub fn first_event_seq(&self) -> Result<Option<u64>> {
        Ok(self.event_log().first_seq())
    }

    /// The events after `after` up to `until` that `viewer` may see, oldest first.
    pub fn events_since(&self, after: u64, until: u64, viewer: &Viewer) -> Result<Vec<Event>> {
        self.event_log().since(after, until, viewer)
    }

    /// The messages stored in the last moments before the hub stopped whose
    /// `message.created` is not in the event log, with their chats, oldest first: the
    /// process died after the message was durable and before its event was logged, so
    /// neither the sockets nor the outgoing webhooks heard of it. Looks at the messages
    /// made from [`UNLOGGED_WINDOW`] before the newest logged event on (an event is
    /// logged after its message is made), but none made before the oldest event kept
    /// (whose event may have been pruned), through the chats by last activity. Nothing
    /// when the log keeps no event (a new install, a log not trusted after a reboot, a
    /// restored backup). A message of a history import does not move its chat's
    /// activity and is not found.
    pub fn unlogged_messages(&self) -> Result<Vec<(Chat, Message)>> {
        let Some((oldest_at, last_at)) = self.event_log().kept_span() else {
            return Ok(Vec::new());
        };
        // Events are logged in time order: one made after the oldest kept is kept.
        let since = (last_at - UNLOGGED_WINDOW).max(oldest_at + chrono::Duration::milliseconds(1));
        let first = self.event_log().first_at(since).unwrap_or(u64::MAX);
        let last = self.last_event_seq()?;
        let logged: HashSet<MessageId> = self
            .events_since(first.saturating_sub(1), last, &Viewer::everything())?
            .iter()
            .filter(|e| e.name == "message.created")
            .filter_map(|e| match e.message_id {
                Some(id) => Some(id),
                // Logged before events named their message: its data has the message's
                // fields at its top (web/src/views/conversation.rs, `render_event`).
                None => serde_json::from_str::<Named>(&e.data)
                    .ok()?
                    .id
                    .parse()
                    .ok()
                    .map(MessageId),
            })
            .collect();
        let mut unlogged = Vec::new();
        for entry in self.trees().by_time.range(crate::keys::time(since)..) {
            let (key, _) = entry?;
            let id = ChatId(read_u64(&key[key.len() - 8..]).unwrap_or(0));
            // A record that cannot be read costs only its own announcement.
            let chat = match self.chat(id) {
                Ok(Some(chat)) => chat,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, chat = %id, "a chat of the last moments is unreadable");
                    continue;
                }
            };
            let start = message_key(id, MessageId(0));
            let end = message_key(id, MessageId(u64::MAX));
            for entry in self.trees().messages.range(start..end).rev() {
                let message: Message = match entry.map_err(Into::into).and_then(|e| decode(&e.1)) {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::warn!(%error, chat = %id, "a message of the last moments is unreadable");
                        continue;
                    }
                };
                if message.created_at < since {
                    break;
                }
                if !logged.contains(&message.id) {
                    unlogged.push((chat.clone(), message));
                }
            }
        }
        unlogged.sort_by_key(|(_, message)| message.id);
        Ok(unlogged)
    }

    /// Drops events beyond the newest `keep` and those older than `before`.
    pub fn prune_events(&self, keep: usize, before: DateTime<Utc>) -> Result<usize> {
        self.event_log().prune(keep, before)
    }

    /// How many chats a user holds in a status (an index prefix count).
    pub fn count_chats(&self, user: UserId, status: ChatStatus) -> Result<usize> {
        let mut prefix = user.key().to_vec();
        prefix.push(status.code());
        Ok(self.trees().by_assignee.scan_prefix(prefix).keys().count())
    }

    /// Every queue, by id.
    pub fn queues(&self) -> Result<Vec<Queue>> {
        self.trees().queues.iter().map(|e| decode(&e?.1)).collect()
    }

    /// One queue.
    pub fn queue(&self, id: &str) -> Result<Option<Queue>> {
        self.trees()
            .queues
            .get(id.as_bytes())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Creates a queue; [`crate::Error::Conflict`] when the id is taken.
    pub fn create_queue(&self, queue: &Queue) -> Result<()> {
        let swapped = self.trees().queues.compare_and_swap(
            queue.id.as_bytes(),
            None::<&[u8]>,
            Some(encode(queue)?),
        )?;
        swapped.map_err(|_| crate::Error::Conflict(crate::refusals::QUEUE_TAKEN))
    }

    /// Replaces a queue.
    pub fn put_queue(&self, queue: &Queue) -> Result<()> {
        self.trees()
            .queues
            .insert(queue.id.as_bytes(), encode(queue)?)?;
        Ok(())
    }

    /// Deletes a queue; false when there was none.
    pub fn delete_queue(&self, id: &str) -> Result<bool> {
        Ok(self.trees().queues.remove(id.as_bytes())?.is_some())
    }
}

impl Store {
    /// Every canned response, by shortcut.
    pub fn canned_responses(&self) -> Result<Vec<crate::CannedResponse>> {
        let mut all: Vec<crate::CannedResponse> = self
            .trees()
            .canned
            .iter()
            .map(|e| decode(&e?.1))
            .collect::<Result<_>>()?;
        all.sort_by(|a, b| a.shortcut.cmp(&b.shortcut));
        Ok(all)
    }

    /// One canned response.
    pub fn canned_response(&self, id: u64) -> Result<Option<crate::CannedResponse>> {
        self.trees()
            .canned
            .get(id.to_be_bytes())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Saves a canned response; [`crate::Error::Conflict`] when another has its shortcut.
    pub fn put_canned_response(&self, canned: &crate::CannedResponse) -> Result<()> {
        let taken = self
            .canned_responses()?
            .into_iter()
            .any(|c| c.id != canned.id && c.shortcut == canned.shortcut);
        if taken {
            return Err(crate::Error::Conflict(crate::refusals::SHORTCUT_TAKEN));
        }
        self.trees()
            .canned
            .insert(canned.id.to_be_bytes(), encode(canned)?)?;
        Ok(())
    }

    /// Deletes a canned response; false when there was none.
    pub fn delete_canned_response(&self, id: u64) -> Result<bool> {
        Ok(self.trees().canned.remove(id.to_be_bytes())?.is_some())
    }
}

/// Audit entries a query may look through before it answers with what it found.
const MAX_AUDIT_SCAN: usize = 20_000;

impl Store {
    /// Appends an audit entry (its id is taken from the store's id sequence).
    pub fn audit(&self, mut entry: crate::AuditEntry) -> Result<()> {
        entry.id = self.new_id()?;
        self.trees()
            .audit
            .insert(entry.id.to_be_bytes(), encode(&entry)?)?;
        Ok(())
    }

    /// Audit entries newest first, before the entry `before`, that `keep` accepts.
    pub fn audit_entries<F>(
        &self,
        before: Option<u64>,
        limit: usize,
        keep: F,
    ) -> Result<Vec<crate::AuditEntry>>
    where
        F: Fn(&crate::AuditEntry) -> bool,
    {
        let end = before.unwrap_or(u64::MAX).to_be_bytes();
        let mut found = Vec::new();
        for entry in self.trees().audit.range(..end).rev().take(MAX_AUDIT_SCAN) {
            let entry: crate::AuditEntry = decode(&entry?.1)?;
            if keep(&entry) {
                found.push(entry);
                if found.len() == limit {
                    break;
                }
            }
        }
        Ok(found)
    }
}

impl Store {
    /// How many chats are in a status (an index prefix count).
    pub fn count_status(&self, status: ChatStatus) -> Result<usize> {
        Ok(self
            .trees()
            .by_status_time
            .scan_prefix([status.code()])
            .keys()
            .count())
    }

    /// Events in the log.
    pub fn event_count(&self) -> Result<u64> {
        Ok(self.event_log().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::chat::{Direction, MessageStatus};
    use crate::records::event::Scope;
    use crate::{ContactId, Write};

    /// A customer's message in `chat` made `at`, stored as the chat actor stores one.
    fn message_at(store: &Store, chat: &mut Chat, at: DateTime<Utc>) -> Message {
        let id = MessageId(store.new_id().unwrap());
        let message = Message::new(
            id,
            chat.id,
            Direction::In,
            "text",
            MessageStatus::Received,
            at,
        );
        let before = chat.clone();
        chat.updated_at = at;
        let mut write = Write::default();
        write.chat(Some(&before), chat).message(&message);
        store.commit(write).unwrap();
        message
    }

    fn log(store: &Store, seq: u64, at: DateTime<Utc>, message: Option<&Message>) {
        let event = Event {
            seq,
            name: if message.is_some() {
                "message.created"
            } else {
                "chat.updated"
            }
            .into(),
            data: "{}".into(),
            scope: Scope::Everyone,
            at,
            message_id: message.map(|m| m.id),
        };
        store.append_event(&event).unwrap();
    }

    #[test]
    fn the_messages_a_crash_kept_out_of_the_log_are_found_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        let seconds = chrono::Duration::seconds;
        let mut chat = Chat::new(ChatId(1), ContactId(1), "n", now - seconds(60));
        let mut write = Write::default();
        write.chat(None, &chat);
        store.commit(write).unwrap();
        let before_any_event = message_at(&store, &mut chat, now - seconds(50));
        assert!(
            store.unlogged_messages().unwrap().is_empty(),
            "with no event kept there is nothing to compare with"
        );

        log(&store, 1, now - seconds(40), None);
        // Long before the newest event: out of the window, whether logged or not.
        let _old = message_at(&store, &mut chat, now - seconds(30));
        let told = message_at(&store, &mut chat, now - seconds(5));
        log(&store, 2, now - seconds(5), Some(&told));
        let lost = message_at(&store, &mut chat, now - seconds(3));
        log(&store, 3, now - seconds(1), None);
        let last = message_at(&store, &mut chat, now);
        let found = |store: &Store| -> Vec<MessageId> {
            let unlogged = store.unlogged_messages().unwrap();
            unlogged.iter().map(|(_, m)| m.id).collect()
        };
        assert_eq!(found(&store), [lost.id, last.id]);
        assert!(!found(&store).contains(&before_any_event.id));

        // The event of `told` pruned: only what came after the oldest kept event counts.
        store
            .prune_events(1, now - chrono::Duration::days(1))
            .unwrap();
        assert_eq!(
            found(&store),
            [last.id],
            "a pruned event is not a missing one"
        );
    }
}
