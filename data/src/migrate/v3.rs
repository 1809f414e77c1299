//! Schema 3: contacts become people with ids. Until schema 2 a contact was keyed by its
//! phone (`wa_id`) and a chat carried that phone; since, a contact has an id, belongs to
//! one business number, and is found through `contacts_by_key` by its phone or BSUID.
//! Every chat gets the id of its number's contact for its phone (made here from the old
//! record), and `chats_by_contact` is keyed by contact id.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::contacts::key_entry;
use crate::keys::{contact_key, trees};
use crate::store::{decode, encode, encode_compact};
use crate::{phone, Chat, Contact, ContactId, Result};

/// A contact as schema 2 stored it (fields in that order).
#[derive(Deserialize)]
struct OldContact {
    wa_id: String,
    name: Option<String>,
    profile_name: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    notes: Option<String>,
    #[serde(default, with = "crate::records::time::compact_opt")]
    last_inbound_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::records::time::compact")]
    created_at: DateTime<Utc>,
    #[serde(with = "crate::records::time::compact")]
    updated_at: DateTime<Utc>,
}

pub(super) fn up(db: &sled::Db) -> Result<()> {
    let contacts = db.open_tree(trees::CONTACTS)?;
    let by_key = db.open_tree(trees::CONTACTS_BY_KEY)?;
    let by_contact = db.open_tree(trees::CHATS_BY_CONTACT)?;
    let chats = db.open_tree(trees::CHATS)?;
    db.open_tree(trees::UNPROCESSED)?;
    db.open_tree(trees::NUMBERS)?;
    let mut old: HashMap<String, OldContact> = HashMap::new();
    for entry in contacts.iter() {
        let (_, value) = entry?;
        let contact: OldContact = decode(&value)?;
        old.insert(phone::canonical(&contact.wa_id), contact);
    }
    contacts.clear()?;
    by_contact.clear()?;
    let mut made: HashMap<(String, String), Contact> = HashMap::new();
    for entry in chats.iter() {
        let (key, value) = entry?;
        let mut chat: Chat = decode(&value)?;
        let phone = phone::canonical(&chat.legacy_wa_id);
        let slot = (chat.phone_number_id.clone(), phone.clone());
        let contact = match made.get(&slot) {
            Some(contact) => contact,
            None => {
                let contact = contact_from(db, &chat, old.get(&phone))?;
                made.entry(slot).or_insert(contact)
            }
        };
        chat.contact_id = contact.id;
        chats.insert(&key, encode_compact(&chat)?)?;
        by_contact.insert(
            contact_key(contact.id, chat.id),
            chat.phone_number_id.as_bytes(),
        )?;
    }
    for contact in made.values() {
        contacts.insert(contact.id.key(), encode(contact)?)?;
        for (kind, key) in contact.keys() {
            by_key.insert(
                key_entry(kind, &key, &contact.phone_number_id),
                &contact.id.key(),
            )?;
        }
    }
    Ok(())
}

/// The contact of `chat`'s phone on its number, from the old record when there is one.
fn contact_from(db: &sled::Db, chat: &Chat, old: Option<&OldContact>) -> Result<Contact> {
    let id = ContactId(db.generate_id()? + 1);
    let mut contact = Contact::new(id, &chat.phone_number_id, chat.created_at);
    contact.wa_id = Some(chat.legacy_wa_id.clone()).filter(|p| !p.is_empty());
    if let Some(old) = old {
        contact.wa_id = Some(old.wa_id.clone());
        contact.name.clone_from(&old.name);
        contact.profile_name.clone_from(&old.profile_name);
        contact.tags.clone_from(&old.tags);
        contact.notes.clone_from(&old.notes);
        contact.last_inbound_at = old.last_inbound_at;
        contact.created_at = old.created_at;
        contact.updated_at = old.updated_at;
    }
    Ok(contact)
}
