//! Data protection (LGPD/GDPR): one contact's data exported or erased on request, and the
//! retention sweep that deletes old media and messages.

use chrono::{DateTime, Utc};

use crate::keys::{
    assignee_key, client_key, contact_key, message_key, read_u64, status_key, time_key,
};
use crate::records::chat::{Chat, ChatStatus, Message};
use crate::records::contact::Contact;
use crate::records::media::{MediaRecord, MediaState};
use crate::records::outbox::OutboxEntry;
use crate::store::{decode, encode};
use crate::{ChatId, ContactId, Error, Result, Store};

/// Everything the hub holds about one contact.
#[derive(serde::Serialize)]
pub struct ContactExport {
    pub contact: Contact,
    pub chats: Vec<Chat>,
    pub messages: Vec<Message>,
}

impl Store {
    /// Everything about a contact: the record, its chats and their messages (not the
    /// team's lines of what happened to a chat, which are about the team's work).
    pub fn export_contact(&self, id: ContactId) -> Result<ContactExport> {
        let contact = self.contact(id)?.ok_or(Error::NotFound)?;
        let chats = self.contact_chats(contact.id, usize::MAX)?;
        let mut messages = Vec::new();
        for chat in &chats {
            let mut theirs = self.chat_messages(chat.id)?;
            theirs.retain(|m| m.kind != "activity");
            messages.extend(theirs);
        }
        Ok(ContactExport {
            contact,
            chats,
            messages,
        })
    }

    fn chat_messages(&self, chat: ChatId) -> Result<Vec<Message>> {
        self.trees()
            .messages
            .scan_prefix(chat.key())
            .map(|e| decode(&e?.1))
            .collect()
    }

    /// Erases a contact and all its chats, messages and media. Refused while one of its
    /// chats is still open or waiting (close them first).
    pub fn erase_contact(&self, id: ContactId) -> Result<usize> {
        let contact = self.contact(id)?.ok_or(Error::NotFound)?;
        let chats = self.contact_chats(contact.id, usize::MAX)?;
        if chats.iter().any(|c| c.status != ChatStatus::Closed) {
            return Err(Error::Conflict(crate::refusals::CONTACT_HAS_OPEN_CHATS));
        }
        let t = self.trees();
        let chat_ids: Vec<ChatId> = chats.iter().map(|c| c.id).collect();
        // First what still waits to go out or to happen: nothing more is sent to them,
        // and no leftover is resumed or due at a later start.
        self.forget_outbox_of(&chat_ids)?;
        self.forget_due_of(&chat_ids)?;
        let mut erased = 0;
        for chat in &chats {
            for message in self.chat_messages(chat.id)? {
                self.remove_message(&message)?;
                erased += 1;
            }
            let _gate = self.writing();
            t.by_status_time.remove(status_key(chat))?;
            t.by_time.remove(time_key(chat))?;
            if let Some(user) = chat.assignee {
                t.by_assignee.remove(assignee_key(user.key(), chat))?;
            }
            t.by_contact.remove(contact_key(contact.id, chat.id))?;
            for key in t.scheduled.scan_prefix(chat.id.key()).keys() {
                t.scheduled.remove(key?)?;
            }
            for entry in t.search.iter().keys() {
                let key = entry?;
                if key.len() >= 8 && key[key.len() - 8..] == chat.id.key() {
                    t.search.remove(key)?;
                }
            }
            t.chats.remove(chat.id.key())?;
        }
        let lock = self.contact_lock();
        let gate = self.writing();
        // Contacts joined into this one are erased with it.
        let mut erased_ids = vec![contact.id.key()];
        for entry in t.contacts.iter() {
            let (key, value) = entry?;
            let other: Contact = decode(&value)?;
            if other.merged_into == Some(contact.id) {
                erased_ids.push(other.id.key());
                t.contacts.remove(key)?;
            }
        }
        // Every key that names them, the phones and BSUIDs they once had too: keys are
        // personal data (a rare, whole scan).
        for entry in t.contacts_by_key.iter() {
            let (key, id) = entry?;
            if erased_ids.iter().any(|e| e[..] == id[..]) {
                t.contacts_by_key.remove(key)?;
            }
        }
        t.contacts.remove(contact.id.key())?;
        // Their place in campaigns: who was sent what is about them too.
        for campaign in self.campaigns()? {
            for id in &erased_ids {
                t.campaign_sends
                    .remove(crate::keys::join(&[&campaign.id.key(), id]))?;
            }
        }
        drop(gate);
        drop(lock);
        self.flush_blocking()?;
        // Events about the contact hold their names and messages too.
        self.event_log().forget_all()?;
        Ok(erased)
    }

    /// Removes the waiting sends and read receipts of `chats`.
    fn forget_outbox_of(&self, chats: &[ChatId]) -> Result<()> {
        let t = self.trees();
        let _gate = self.writing();
        for entry in t.outbox.iter() {
            let (key, value) = entry?;
            let waiting: OutboxEntry = decode(&value)?;
            if chats.contains(&waiting.chat_id) {
                t.outbox.remove(key)?;
            }
        }
        Ok(())
    }

    /// Removes a message, its indexes, a status that waited for it and its media file.
    fn remove_message(&self, message: &Message) -> Result<()> {
        let t = self.trees();
        let _gate = self.writing();
        if let Some(wamid) = &message.wamid {
            t.by_wamid.remove(wamid.as_bytes())?;
            t.pending_statuses.remove(wamid.as_bytes())?;
        }
        if let Some(client_id) = &message.client_id {
            t.client_ids
                .remove(client_key(message.chat_id, client_id))?;
        }
        if let Some(media) = &message.media {
            self.remove_media_file(media.id)?;
            t.media.remove(media.id.key())?;
        }
        t.messages
            .remove(message_key(message.chat_id, message.id))?;
        Ok(())
    }

    fn remove_media_file(&self, id: crate::MediaId) -> Result<()> {
        let path = self.media_dir().join(id.to_string());
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::Io { path, source: e })
            }
            _ => Ok(()),
        }
    }

    /// Deletes uploads never sent that were made before `unsent_before` (file and record),
    /// media files older than `media_before` (the message stays, without its file) and
    /// messages of closed chats sent before `messages_before`. Returns (media, messages).
    pub fn sweep_retention(
        &self,
        unsent_before: DateTime<Utc>,
        media_before: Option<DateTime<Utc>>,
        messages_before: Option<DateTime<Utc>>,
    ) -> Result<(usize, usize)> {
        let t = self.trees();
        let mut media_gone = 0;
        for entry in t.media.iter() {
            let (key, bytes) = entry?;
            let mut media: MediaRecord = decode(&bytes)?;
            // An upload (or a forward's copy) is a message's once sent; one left unsent is
            // nobody's.
            let unsent = media.uploader.is_some() && media.message_id.is_none();
            if unsent && media.created_at < unsent_before {
                self.remove_media_file(media.id)?;
                let _gate = self.writing();
                t.media.remove(key)?;
                media_gone += 1;
            } else if let Some(before) = media_before {
                if media.created_at < before && media.state == MediaState::Ready {
                    self.remove_media_file(media.id)?;
                    media.state = MediaState::Failed;
                    let _gate = self.writing();
                    t.media.insert(key, encode(&media)?)?;
                    media_gone += 1;
                }
            }
        }
        let mut messages_gone = 0;
        if let Some(before) = messages_before {
            for entry in t.messages.iter() {
                let (key, bytes) = entry?;
                let message: Message = decode(&bytes)?;
                let chat_id = ChatId(read_u64(&key).unwrap_or(0));
                let closed = self
                    .chat(chat_id)?
                    .is_some_and(|c| c.status == ChatStatus::Closed);
                if closed && message.timestamp < before {
                    self.remove_message(&message)?;
                    messages_gone += 1;
                }
            }
        }
        Ok((media_gone, messages_gone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::chat::{Direction, MessageStatus, PendingStatus};
    use crate::records::outbox::OutboxKind;
    use crate::records::scheduled::{ScheduledMessage, ScheduledState};
    use crate::{MessageId, OutboxId, ScheduledId, UserId, Write};

    /// A closed chat of `contact` with a sent message (`wamid`), a reply still in the
    /// outbox, a pending scheduled message and a snooze wake-up.
    fn closed_chat_with_leftovers(store: &Store, contact: ContactId, chat: u64, wamid: &str) {
        let now = Utc::now();
        let mut record = Contact::new(contact, "n", now);
        record.wa_id = Some(format!("551198765{chat:04}"));
        let mut closed = Chat::new(ChatId(chat), contact, "n", now);
        closed.status = ChatStatus::Closed;
        closed.pending_since = None;
        let mut sent = Message::new(
            MessageId(chat * 10),
            closed.id,
            Direction::Out,
            "text",
            MessageStatus::Sent,
            now,
        );
        sent.wamid = Some(wamid.into());
        let queued = Message::new(
            MessageId(chat * 10 + 1),
            closed.id,
            Direction::Out,
            "text",
            MessageStatus::Queued,
            now,
        );
        let entry = OutboxEntry {
            id: OutboxId(chat * 10 + 2),
            number: "n".into(),
            chat_id: closed.id,
            message_id: Some(queued.id),
            kind: OutboxKind::Send {
                body: serde_json::json!({"type": "text"}),
                upload: None,
            },
            attempts: 1,
            created_at: now,
            dispatched: true,
        };
        let mut write = Write::default();
        write
            .contact(&record)
            .chat(None, &closed)
            .message(&sent)
            .message(&queued)
            .outbox(&entry);
        store.commit(write).unwrap();
        let status = PendingStatus {
            status: MessageStatus::Read,
            error: None,
            at: now,
        };
        store.put_pending_status(wamid, &status).unwrap();
        store
            .put_scheduled(&ScheduledMessage {
                id: ScheduledId(chat * 10 + 3),
                chat_id: closed.id,
                by: UserId(1),
                text: "amanhã".into(),
                template: None,
                send_at: now + chrono::Duration::hours(1),
                state: ScheduledState::Pending,
                reason: None,
                message_id: None,
                created_at: now,
                updated_at: now,
            })
            .unwrap();
        store
            .wake_at(closed.id, now - chrono::Duration::minutes(1), false)
            .unwrap();
    }

    #[test]
    fn an_erased_contact_leaves_nothing_to_send_or_to_wake_and_others_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        closed_chat_with_leftovers(&store, ContactId(1), 1, "wamid.ERASED");
        closed_chat_with_leftovers(&store, ContactId(2), 2, "wamid.KEPT");
        let later = Utc::now() + chrono::Duration::hours(2);
        assert_eq!(store.due(later, None, 100).unwrap().len(), 4);

        assert_eq!(store.erase_contact(ContactId(1)).unwrap(), 2);
        let waiting: Vec<ChatId> = store
            .outbox_entries()
            .unwrap()
            .iter()
            .map(|e| e.chat_id)
            .collect();
        assert_eq!(waiting, [ChatId(2)]);
        assert_eq!(store.pending_status("wamid.ERASED").unwrap(), None);
        assert!(store.pending_status("wamid.KEPT").unwrap().is_some());
        let due = store.due(later, None, 100).unwrap();
        assert_eq!(due.len(), 2);
        assert!(due.iter().all(|(_, d)| match d {
            crate::Due::Wake(chat) | crate::Due::Message(chat, _) => *chat == ChatId(2),
        }));
    }

    #[test]
    fn uploads_left_unsent_a_day_are_deleted_and_sent_or_inbound_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        std::fs::create_dir_all(store.media_dir()).unwrap();
        let now = Utc::now();
        let media = |id: u64, uploader: Option<u64>, message: Option<u64>, hours: i64| {
            let record = MediaRecord {
                id: crate::MediaId(id),
                chat_id: message.map(|_| ChatId(1)),
                message_id: message.map(MessageId),
                uploader: uploader.map(UserId),
                kind: "image".into(),
                mime_type: "image/png".into(),
                size: Some(3),
                filename: None,
                wa_media_id: None,
                state: MediaState::Ready,
                sha256: None,
                attempts: 0,
                created_at: now - chrono::Duration::hours(hours),
                voice: false,
                seconds: None,
                unverified: false,
            };
            std::fs::write(store.media_dir().join(id.to_string()), b"png").unwrap();
            let mut write = Write::default();
            write.media(&record);
            store.commit(write).unwrap();
        };
        media(1, Some(7), None, 30); // uploaded yesterday, never sent
        media(2, Some(7), None, 1); // uploaded an hour ago, not sent yet
        media(3, Some(7), Some(30), 30); // uploaded and sent
        media(4, None, Some(31), 30); // a customer's
        let cutoff = now - chrono::Duration::hours(24);
        assert_eq!(store.sweep_retention(cutoff, None, None).unwrap(), (1, 0));
        let kept: Vec<bool> = (1..=4)
            .map(|id| store.media(crate::MediaId(id)).unwrap().is_some())
            .collect();
        assert_eq!(kept, [false, true, true, true]);
        assert!(!store.media_dir().join("1").exists());
        assert!(store.media_dir().join("2").exists());
    }
}
