//! Scheduled messages (`scheduled`, by chat) and what is due when (`scheduled_due`): each
//! pending message, and each snoozed chat's wake-up, under its time, so the scheduler
//! reads only what is due.

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
            if key.get(8) != Some(&MESSAGE) {
                continue;
            }
            let chat = ChatId(read_u64(&key[9..]).unwrap_or(0));
            let id = ScheduledId(read_u64(&key[17..]).unwrap_or(0));
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

    /// What is due at `now` or before, oldest first, `limit` at most, with its time.
    pub fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<(DateTime<Utc>, Due)>> {
        let end = time(now + chrono::Duration::microseconds(1));
        let mut found = Vec::new();
        for entry in self.trees().scheduled_due.range(..end.to_vec()).take(limit) {
            let (key, _) = entry?;
            let micros = read_u64(&key).unwrap_or(0) ^ (1 << 63);
            let at = DateTime::from_timestamp_micros(micros as i64).unwrap_or(now);
            let chat = ChatId(read_u64(&key[9..]).unwrap_or(0));
            let due = match key.get(8) {
                Some(&WAKE) => Due::Wake(chat),
                _ => Due::Message(chat, ScheduledId(read_u64(&key[17..]).unwrap_or(0))),
            };
            found.push((at, due));
        }
        Ok(found)
    }
}
