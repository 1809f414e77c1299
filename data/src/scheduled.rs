//! Scheduled messages (`scheduled`, by chat) and what is due when (`scheduled_due`): each
//! pending message, and each snoozed chat's wake-up, under its time, so the scheduler
//! reads only what is due.

use std::ops::Bound;

use chrono::{DateTime, Utc};

use crate::keys::{join, read_u64, time};
use crate::records::scheduled::{ScheduledMessage, ScheduledState};
use crate::store::{decode, encode};
use crate::{ChatId, Result, ScheduledId, Store};

/// What is due at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// A scheduled message of a chat.
    Message(ChatId, ScheduledId),
    /// A snoozed chat wakes (its snooze set at this time).
    Wake(ChatId),
}

const MESSAGE: u8 = 0;
const WAKE: u8 = 1;

fn due_key(at: DateTime<Utc>, due: Due) -> Vec<u8> {
    match due {
        Due::Message(chat, id) => join(&[&time(at), &[MESSAGE], &chat.key(), &id.key()]),
        Due::Wake(chat) => join(&[&time(at), &[WAKE], &chat.key(), &[0; 8]]),
    }
}

/// What a [`due_key`] says: when, and what.
fn read_due_key(key: &[u8]) -> Option<(DateTime<Utc>, Due)> {
    let micros = read_u64(key)? ^ (1 << 63);
    let at = DateTime::from_timestamp_micros(micros as i64)?;
    let chat = ChatId(read_u64(key.get(9..)?)?);
    let due = match *key.get(8)? {
        WAKE => Due::Wake(chat),
        _ => Due::Message(chat, ScheduledId(read_u64(key.get(17..)?)?)),
    };
    Some((at, due))
}

fn scheduled_key(chat: ChatId, id: ScheduledId) -> Vec<u8> {
    join(&[&chat.key(), &id.key()])
}

impl Store {
    /// Writes a scheduled message; a pending one is due at its time, any other is not
    /// (durable after [`Store::durable`]).
    pub fn put_scheduled(&self, message: &ScheduledMessage) -> Result<()> {
        let trees = self.trees();
        let due = due_key(message.send_at, Due::Message(message.chat_id, message.id));
        if message.state == ScheduledState::Pending {
            trees.scheduled_due.insert(due, &[])?;
        } else {
            trees.scheduled_due.remove(due)?;
        }
        trees
            .scheduled
            .insert(scheduled_key(message.chat_id, message.id), encode(message)?)?;
        Ok(())
    }

    pub fn scheduled(&self, chat: ChatId, id: ScheduledId) -> Result<Option<ScheduledMessage>> {
        self.trees()
            .scheduled
            .get(scheduled_key(chat, id))?
            .map(|b| decode(&b))
            .transpose()
    }

    /// A chat's scheduled messages, oldest first.
    pub fn scheduled_of(&self, chat: ChatId) -> Result<Vec<ScheduledMessage>> {
        self.trees()
            .scheduled
            .scan_prefix(chat.key())
            .map(|e| decode(&e?.1))
            .collect()
    }

    /// A new scheduled message id.
    pub fn new_scheduled_id(&self) -> Result<ScheduledId> {
        Ok(ScheduledId(self.next_id()?))
    }

    /// Makes a snoozed chat due to wake at `at`; or, with `done`, no longer.
    pub fn wake_at(&self, chat: ChatId, at: DateTime<Utc>, done: bool) -> Result<()> {
        let key = due_key(at, Due::Wake(chat));
        if done {
            self.trees().scheduled_due.remove(key)?;
        } else {
            self.trees().scheduled_due.insert(key, &[])?;
        }
        Ok(())
    }

    /// Every pending scheduled message, soonest first, `limit` at most.
    pub fn pending_scheduled(&self, limit: usize) -> Result<Vec<ScheduledMessage>> {
        let mut found = Vec::new();
        for entry in self.trees().scheduled_due.iter() {
            if found.len() >= limit {
                break;
            }
            let (key, _) = entry?;
            let Some((_, Due::Message(chat, id))) = read_due_key(&key) else {
                continue;
            };
            if let Some(message) = self.scheduled(chat, id)? {
                found.push(message);
            }
        }
        Ok(found)
    }

    /// Forgets a due entry whose record is gone (its chat was erased).
    pub fn drop_due(&self, at: DateTime<Utc>, due: Due) -> Result<()> {
        self.trees().scheduled_due.remove(due_key(at, due))?;
        Ok(())
    }

    /// Forgets everything due for `chats` (erased).
    pub(crate) fn forget_due_of(&self, chats: &[ChatId]) -> Result<()> {
        let tree = &self.trees().scheduled_due;
        for key in tree.iter().keys() {
            let key = key?;
            let chat = match read_due_key(&key) {
                Some((_, Due::Wake(chat) | Due::Message(chat, _))) => chat,
                None => continue,
            };
            if chats.contains(&chat) {
                tree.remove(key)?;
            }
        }
        Ok(())
    }

    /// What is due at `now` or before, oldest first, `limit` at most, with its time;
    /// after the entry `after` when given (the last one of a full read), so that entries
    /// that stay due for a while do not hide the ones behind them.
    pub fn due(
        &self,
        now: DateTime<Utc>,
        after: Option<(DateTime<Utc>, Due)>,
        limit: usize,
    ) -> Result<Vec<(DateTime<Utc>, Due)>> {
        let end = time(now + chrono::Duration::microseconds(1)).to_vec();
        let start = match after.map(|(at, due)| due_key(at, due)) {
            Some(key) if key < end => Bound::Excluded(key),
            _ => Bound::Unbounded,
        };
        let mut found = Vec::new();
        let range = (start, Bound::Excluded(end));
        for entry in self.trees().scheduled_due.range(range).take(limit) {
            let (key, _) = entry?;
            found.extend(read_due_key(&key));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_read_of_what_is_due_goes_on_after_its_last_entry_then_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let start = Utc::now() - chrono::Duration::hours(1);
        for chat in 0..5 {
            let at = start + chrono::Duration::seconds(chat as i64);
            store.wake_at(ChatId(chat), at, false).unwrap();
        }
        let now = Utc::now();
        let chats = |due: &[(DateTime<Utc>, Due)]| -> Vec<u64> {
            due.iter()
                .map(|(_, d)| match d {
                    Due::Wake(chat) | Due::Message(chat, _) => chat.0,
                })
                .collect()
        };
        let first = store.due(now, None, 2).unwrap();
        assert_eq!(chats(&first), [0, 1]);
        let second = store.due(now, first.last().copied(), 2).unwrap();
        assert_eq!(chats(&second), [2, 3]);
        // An entry read meanwhile and dropped does not lose the place.
        store.drop_due(second[1].0, second[1].1).unwrap();
        let third = store.due(now, second.last().copied(), 2).unwrap();
        assert_eq!(chats(&third), [4]);
        // A place past what is due now (the clock went back) reads from the start.
        let ahead = (now + chrono::Duration::hours(1), Due::Wake(ChatId(9)));
        assert_eq!(chats(&store.due(now, Some(ahead), 2).unwrap()), [0, 1]);
    }
}
