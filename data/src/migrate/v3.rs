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

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde::Serialize;

    use crate::keys::{meta, trees};
    use crate::{ChatId, KeyKind, Store};

    /// A contact as schema 2 wrote it (fields in order, compact).
    #[derive(Serialize)]
    struct OldContact {
        wa_id: String,
        name: Option<String>,
        profile_name: Option<String>,
        tags: Vec<String>,
        notes: Option<String>,
        #[serde(with = "crate::records::time::compact_opt")]
        last_inbound_at: Option<chrono::DateTime<Utc>>,
        #[serde(with = "crate::records::time::compact")]
        created_at: chrono::DateTime<Utc>,
        #[serde(with = "crate::records::time::compact")]
        updated_at: chrono::DateTime<Utc>,
    }

    #[test]
    fn a_schema_2_directory_opens_with_contacts_found_by_phone_and_their_chats() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        {
            let store = Store::open(dir.path()).unwrap();
            let db = store.db();
            db.open_tree(trees::META)
                .unwrap()
                .insert(meta::SCHEMA_VERSION, &2u32.to_be_bytes())
                .unwrap();
            let old = OldContact {
                wa_id: "551187654321".into(),
                name: Some("Ana".into()),
                profile_name: Some("Ana W".into()),
                tags: vec!["vip".into()],
                notes: Some("prefere e-mail".into()),
                last_inbound_at: Some(now),
                created_at: now,
                updated_at: now,
            };
            let contacts = db.open_tree(trees::CONTACTS).unwrap();
            contacts
                .insert(old.wa_id.as_bytes(), rmp_serde::to_vec(&old).unwrap())
                .unwrap();
            let chats = db.open_tree(trees::CHATS).unwrap();
            let by_contact = db.open_tree(trees::CHATS_BY_CONTACT).unwrap();
            for (id, number) in [(7u64, "n1"), (8, "n1"), (9, "n2")] {
                let mut chat = crate::Chat::new(ChatId(id), crate::ContactId(0), number, now);
                chat.legacy_wa_id = old.wa_id.clone();
                chats
                    .insert(ChatId(id).key(), rmp_serde::to_vec(&chat).unwrap())
                    .unwrap();
                let old_key = [old.wa_id.as_bytes(), &[0], &ChatId(id).key()].concat();
                by_contact.insert(old_key, number.as_bytes()).unwrap();
            }
            store.flush_blocking().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        // Either form of the number finds the contact of each business number.
        let on_n1 = store
            .contact_by("n1", KeyKind::Phone, "5511987654321")
            .unwrap()
            .expect("the contact of n1");
        assert_eq!(on_n1.wa_id.as_deref(), Some("551187654321"));
        assert_eq!(on_n1.name.as_deref(), Some("Ana"));
        assert_eq!(on_n1.notes.as_deref(), Some("prefere e-mail"));
        let chats: Vec<u64> = store
            .contact_chats(on_n1.id, 10)
            .unwrap()
            .iter()
            .map(|c| c.id.0)
            .collect();
        assert_eq!(chats, [8, 7]);
        let on_n2 = store
            .contact_by("n2", KeyKind::Phone, "551187654321")
            .unwrap()
            .expect("the contact of n2");
        assert_ne!(on_n2.id, on_n1.id, "one contact per business number");
        let chat = store.chat(ChatId(9)).unwrap().unwrap();
        assert_eq!(chat.contact_id, on_n2.id);
        assert_eq!(
            store.latest_chat(on_n2.id, "n2").unwrap().unwrap().id,
            ChatId(9)
        );
    }
}
