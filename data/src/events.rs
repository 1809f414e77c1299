//! The event log (numbered events for resuming sockets; see `event_log`) and the `queues`,
//! `canned_responses` and `audit` trees.

use chrono::{DateTime, Utc};

use crate::keys::read_u64;
use crate::records::event::{Event, Intent, Viewer};
use crate::records::queue::Queue;
use crate::store::{decode, encode};
use crate::{ChatStatus, Result, Store, UserId};

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

    /// The webhook intents written before id `floor` (before this start), oldest first:
    /// events whose deliveries a crash kept the dispatcher from making. An intent that
    /// cannot be read is dropped with a warning (it costs that one event).
    pub fn intents_before(&self, floor: u64) -> Result<Vec<(u64, Intent)>> {
        let mut intents = Vec::new();
        for entry in self.trees().hook_intents.range(..floor.to_be_bytes()) {
            let (key, value) = entry?;
            let id = read_u64(&key).unwrap_or(0);
            match decode(&value) {
                Ok(intent) => intents.push((id, intent)),
                Err(error) => {
                    tracing::warn!(%error, id, "an unreadable webhook intent is dropped");
                    self.intent_done(id)?;
                }
            }
        }
        Ok(intents)
    }

    /// Drops an intent whose deliveries are made (durable with the next flush, which
    /// covers the deliveries written before it).
    pub fn intent_done(&self, id: u64) -> Result<()> {
        self.trees().hook_intents.remove(id.to_be_bytes())?;
        Ok(())
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
    use crate::records::chat::Chat;
    use crate::{ChatId, ContactId, Write};

    fn intent(name: &str, chat: u64) -> Intent {
        Intent {
            name: name.into(),
            change: Some("closed".into()),
            chat_id: Some(ChatId(chat)),
            message_id: None,
            contact_id: None,
            data: None,
        }
    }

    #[test]
    fn intents_land_with_their_change_survive_a_reopening_and_go_once_done() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = {
            let store = Store::open(dir.path()).unwrap();
            let chat = Chat::new(ChatId(7), ContactId(1), "n", Utc::now());
            let (first, second) = (store.new_id().unwrap(), store.new_id().unwrap());
            let mut write = Write::default();
            write
                .chat(None, &chat)
                .intent(first, &intent("chat.updated", 7))
                .intent(second, &intent("chat.updated", 8));
            store.commit(write).unwrap();
            store.flush_blocking().unwrap();
            (first, second)
        };
        let store = Store::open(dir.path()).unwrap();
        let floor = store.new_id().unwrap();
        assert!(
            floor > second,
            "ids after a reopening are beyond those before"
        );
        let left = store.intents_before(floor).unwrap();
        assert_eq!(
            left,
            [
                (first, intent("chat.updated", 7)),
                (second, intent("chat.updated", 8))
            ]
        );
        assert_eq!(
            store.intents_before(second).unwrap().len(),
            1,
            "only those below the floor"
        );
        store.intent_done(first).unwrap();
        assert_eq!(
            store.intents_before(floor).unwrap(),
            [(second, intent("chat.updated", 8))]
        );
    }
}
