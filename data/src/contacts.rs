//! Contacts and the keys they are found by (`contacts`, `contacts_by_key`), and the chats
//! of each (`chats_by_contact`).
//!
//! Every change to a contact's record or keys holds the store's contact lock, so that
//! finding, joining and re-keying contacts never race one another (the Router resolves a
//! webhook's customer while an agent edits the same contact).

use chrono::{DateTime, Utc};

use crate::keys::{contact_key, join, read_u64};
use crate::records::contact::{Contact, Identity, KeyKind};
use crate::store::decode;
use crate::{phone, search, Chat, ChatId, ContactId, Error, Result, Store, Write};

/// Joined contacts are followed this far at most (a chain longer than this is a bug, not
/// a reason to loop).
const MAX_MERGE_HOPS: usize = 8;

/// The `contacts_by_key` key of a contact's key on a business number.
pub(crate) fn key_entry(kind: KeyKind, key: &str, number: &str) -> Vec<u8> {
    join(&[&[kind.code()], key.as_bytes(), &[0], number.as_bytes()])
}

/// The key form of `key` for `kind` (phones in their one Brazilian form).
fn normal(kind: KeyKind, key: &str) -> String {
    match kind {
        KeyKind::Phone => phone::canonical(key),
        KeyKind::UserId => key.to_string(),
    }
}

/// What resolving a webhook's customer did.
#[derive(Debug)]
pub struct Resolved {
    pub contact: Contact,
    /// The record or its keys changed (and were written).
    pub changed: bool,
}

impl Store {
    /// A contact by id; a contact joined into another reads as that one.
    pub fn contact(&self, id: ContactId) -> Result<Option<Contact>> {
        let mut id = id;
        for _ in 0..MAX_MERGE_HOPS {
            let Some(bytes) = self.trees().contacts.get(id.key())? else {
                return Ok(None);
            };
            let contact: Contact = decode(&bytes)?;
            match contact.merged_into {
                Some(next) => id = next,
                None => return Ok(Some(contact)),
            }
        }
        Ok(None)
    }

    /// The contact a key of `kind` names on `number`.
    pub fn contact_by(&self, number: &str, kind: KeyKind, key: &str) -> Result<Option<Contact>> {
        let entry = key_entry(kind, &normal(kind, key), number);
        match self.trees().contacts_by_key.get(entry)? {
            Some(id) => self.contact(ContactId(read_u64(&id).unwrap_or(0))),
            None => Ok(None),
        }
    }

    /// The contacts `key` names: an id, a phone in any form, or a BSUID; on `number` only
    /// when given. A phone or BSUID may name one contact per business number.
    pub fn find_contacts(&self, key: &str, number: Option<&str>) -> Result<Vec<Contact>> {
        let key = key.trim();
        let digits = phone::digits(key);
        let looks_like_phone = !digits.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        let mut found = Vec::new();
        if looks_like_phone {
            found = self.contacts_keyed(KeyKind::Phone, &phone::canonical(key), number)?;
        }
        if found.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(id) = key.parse() {
                found.extend(self.contact(ContactId(id))?);
            }
        }
        if found.is_empty() && !key.is_empty() {
            found = self.contacts_keyed(KeyKind::UserId, key, number)?;
        }
        found.retain(|c| number.is_none_or(|n| c.phone_number_id == n));
        found.dedup_by_key(|c| c.id);
        Ok(found)
    }

    fn contacts_keyed(
        &self,
        kind: KeyKind,
        key: &str,
        number: Option<&str>,
    ) -> Result<Vec<Contact>> {
        if let Some(number) = number {
            return Ok(self.contact_by(number, kind, key)?.into_iter().collect());
        }
        let prefix = join(&[&[kind.code()], key.as_bytes(), &[0]]);
        let mut found = Vec::new();
        for entry in self.trees().contacts_by_key.scan_prefix(prefix) {
            let (_, id) = entry?;
            found.extend(self.contact(ContactId(read_u64(&id).unwrap_or(0)))?);
        }
        Ok(found)
    }

    /// The customer a webhook names on `number`: found by any of its keys, created when
    /// new, joined when a phone and a BSUID seen apart arrive together, re-keyed when a
    /// known phone comes with a new BSUID; its profile kept up to date. Writes only what
    /// changed.
    pub fn resolve_contact(
        &self,
        number: &str,
        identity: &Identity,
        at: DateTime<Utc>,
    ) -> Result<Resolved> {
        if identity.is_empty() {
            return Err(Error::Conflict(crate::refusals::NO_RECIPIENT));
        }
        let _lock = self.contact_lock();
        let by_phone = match &identity.wa_id {
            Some(phone) => self.contact_by(number, KeyKind::Phone, phone)?,
            None => None,
        };
        let by_user = match &identity.user_id {
            Some(user_id) => self.contact_by(number, KeyKind::UserId, user_id)?,
            None => None,
        };
        let mut write = Write::default();
        let (before, mut contact) = match (by_phone, by_user) {
            (Some(a), Some(b)) if a.id != b.id => {
                let joined = self.join_contacts(a, b, at, &mut write)?;
                (None, joined)
            }
            (Some(found), _) | (None, Some(found)) => (Some(found.clone()), found),
            (None, None) => (None, Contact::new(ContactId(self.next_id()?), number, at)),
        };
        learn(&mut contact, identity);
        if before.as_ref() == Some(&contact) {
            return Ok(Resolved {
                contact,
                changed: false,
            });
        }
        contact.updated_at = at;
        write.contact(&contact);
        if before.as_ref().is_some_and(|b| names_changed(b, &contact)) {
            self.contact_terms_for_chats(&contact, &mut write)?;
        }
        self.commit(write)?;
        Ok(Resolved {
            contact,
            changed: true,
        })
    }

    /// Meta changed a customer's BSUID (`user_id_update`): the contact takes the new one,
    /// and the old one keeps finding it. `None` when no contact has the old one.
    pub fn rekey_contact(
        &self,
        number: &str,
        old_user_id: &str,
        new_user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Contact>> {
        let _lock = self.contact_lock();
        let Some(mut contact) = self.contact_by(number, KeyKind::UserId, old_user_id)? else {
            return Ok(None);
        };
        let mut write = Write::default();
        if let Some(other) = self.contact_by(number, KeyKind::UserId, new_user_id)? {
            if other.id != contact.id {
                contact = self.join_contacts(contact, other, at, &mut write)?;
            }
        }
        take_user_id(&mut contact, new_user_id);
        contact.updated_at = at;
        write.contact(&contact);
        self.commit(write)?;
        Ok(Some(contact))
    }

    /// Joins `b` into `a` (the older of the two stays): one contact, one chat history.
    fn join_contacts(
        &self,
        a: Contact,
        b: Contact,
        at: DateTime<Utc>,
        write: &mut Write,
    ) -> Result<Contact> {
        let (mut kept, mut gone) = if a.id < b.id { (a, b) } else { (b, a) };
        tracing::info!(contact_id = %kept.id, joined = %gone.id, "two keys of one customer joined");
        kept.wa_id = kept.wa_id.take().or(gone.wa_id.take());
        if let Some(user_id) = gone.user_id.take() {
            if kept.user_id.is_none() {
                kept.user_id = Some(user_id);
            } else if kept.user_id.as_ref() != Some(&user_id) {
                kept.former_user_ids.push(user_id);
            }
        }
        kept.former_user_ids.append(&mut gone.former_user_ids);
        kept.parent_user_id = kept.parent_user_id.take().or(gone.parent_user_id.take());
        kept.username = kept.username.take().or(gone.username.take());
        kept.name = kept.name.take().or(gone.name.take());
        kept.profile_name = kept.profile_name.take().or(gone.profile_name.take());
        kept.notes = match (kept.notes.take(), gone.notes.take()) {
            (Some(a), Some(b)) => Some(format!("{a}\n{b}")),
            (a, b) => a.or(b),
        };
        for tag in gone.tags.drain(..) {
            if !kept.tags.contains(&tag) {
                kept.tags.push(tag);
            }
        }
        kept.last_inbound_at = kept.last_inbound_at.max(gone.last_inbound_at);
        kept.created_at = kept.created_at.min(gone.created_at);
        for (key, number) in self.chats_of(gone.id)? {
            let chat = ChatId(read_u64(&key[8..]).unwrap_or(0));
            write.by_contact_moved(&key, contact_key(kept.id, chat), &number);
        }
        gone.merged_into = Some(kept.id);
        gone.updated_at = at;
        write.contact(&gone);
        self.contact_terms_for_chats(&kept, write)?;
        Ok(kept)
    }

    /// Makes the contact's names and keys find each of its chats.
    pub(crate) fn contact_terms_for_chats(
        &self,
        contact: &Contact,
        write: &mut Write,
    ) -> Result<()> {
        for (key, _) in self.chats_of(contact.id)? {
            write.contact_terms(contact, ChatId(read_u64(&key[8..]).unwrap_or(0)));
        }
        Ok(())
    }

    /// The `chats_by_contact` entries of a contact: key and business number.
    fn chats_of(&self, contact: ContactId) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.trees()
            .by_contact
            .scan_prefix(contact.key())
            .map(|e| {
                let (k, v) = e?;
                Ok((k.to_vec(), v.to_vec()))
            })
            .collect()
    }

    /// The newest chat of a contact on a business number.
    pub fn latest_chat(&self, contact: ContactId, number: &str) -> Result<Option<Chat>> {
        for entry in self.trees().by_contact.scan_prefix(contact.key()).rev() {
            let (key, stored_number) = entry?;
            if stored_number.as_ref() == number.as_bytes() {
                return self.chat(ChatId(read_u64(&key[8..]).unwrap_or(0)));
            }
        }
        Ok(None)
    }

    /// Every chat of a contact, newest first.
    pub fn contact_chats(&self, contact: ContactId, limit: usize) -> Result<Vec<Chat>> {
        let mut chats = Vec::new();
        let entries = self.trees().by_contact.scan_prefix(contact.key()).rev();
        for entry in entries.take(limit) {
            let (key, _) = entry?;
            chats.extend(self.chat(ChatId(read_u64(&key[8..]).unwrap_or(0)))?);
        }
        Ok(chats)
    }

    /// Contacts in id order, after the `cursor` id when given (joined ones left out).
    pub fn contacts(&self, cursor: Option<ContactId>, limit: usize) -> Result<Vec<Contact>> {
        let start = cursor.map(|c| ContactId(c.0.saturating_add(1)).key());
        let mut found = Vec::new();
        for entry in self.trees().contacts.range(start.unwrap_or_default()..) {
            let contact: Contact = decode(&entry?.1)?;
            if contact.merged_into.is_none() {
                found.push(contact);
                if found.len() >= limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// Applies `change` to a stored contact (the names and notes an agent edits).
    pub fn update_contact<F>(&self, id: ContactId, change: F) -> Result<Contact>
    where
        F: FnOnce(&mut Contact),
    {
        let _lock = self.contact_lock();
        let mut contact = self.contact(id)?.ok_or(Error::NotFound)?;
        let before = contact.clone();
        change(&mut contact);
        contact.updated_at = Utc::now();
        let mut write = Write::default();
        write.contact(&contact);
        if names_changed(&before, &contact) {
            self.contact_terms_for_chats(&contact, &mut write)?;
        }
        self.commit(write)?;
        Ok(contact)
    }
}

/// Takes what `identity` tells about the customer into `contact`.
fn learn(contact: &mut Contact, identity: &Identity) {
    if let Some(phone) = &identity.wa_id {
        // Meta's latest form of the number (with or without Brazil's ninth digit).
        contact.wa_id = Some(phone.clone());
    }
    if let Some(user_id) = &identity.user_id {
        take_user_id(contact, user_id);
    }
    let fields = [
        (&mut contact.parent_user_id, &identity.parent_user_id),
        (&mut contact.username, &identity.username),
        (&mut contact.profile_name, &identity.profile_name),
    ];
    for (field, given) in fields {
        if given.is_some() {
            field.clone_from(given);
        }
    }
}

/// Makes `user_id` the contact's BSUID; a different earlier one stays as a former key.
fn take_user_id(contact: &mut Contact, user_id: &str) {
    if contact.user_id.as_deref() == Some(user_id) {
        return;
    }
    if let Some(old) = contact.user_id.replace(user_id.to_string()) {
        if !contact.former_user_ids.contains(&old) {
            contact.former_user_ids.push(old);
        }
    }
    contact.former_user_ids.retain(|u| u != user_id);
}

/// Whether what a contact is searched by changed.
pub(crate) fn names_changed(before: &Contact, after: &Contact) -> bool {
    before.name != after.name
        || before.profile_name != after.profile_name
        || before.username != after.username
        || before.wa_id != after.wa_id
}

/// The search terms of a contact: names, username and every form of its number.
pub(crate) fn contact_terms(contact: &Contact) -> Vec<String> {
    let mut terms: Vec<String> = [&contact.name, &contact.profile_name, &contact.username]
        .into_iter()
        .flatten()
        .flat_map(|n| search::terms(n))
        .collect();
    if let Some(phone) = &contact.wa_id {
        for form in phone::forms(phone) {
            terms.extend(search::number_terms(&form));
        }
    }
    terms.sort();
    terms.dedup();
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(phone: Option<&str>, user_id: Option<&str>) -> Identity {
        Identity {
            wa_id: phone.map(str::to_owned),
            user_id: user_id.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn keys_seen_apart_join_and_erasing_the_contact_leaves_no_key_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        let by_phone = store
            .resolve_contact("n", &identity(Some("551187654321"), None), now)
            .unwrap();
        let by_user = store
            .resolve_contact("n", &identity(None, Some("BR.1")), now)
            .unwrap();
        assert_ne!(by_phone.contact.id, by_user.contact.id);
        let joined = store
            .resolve_contact("n", &identity(Some("5511987654321"), Some("BR.1")), now)
            .unwrap();
        assert!(joined.changed);
        assert_eq!(joined.contact.id, by_phone.contact.id, "the older stays");
        // Both old ids read as the joined contact; nothing changes on a repeat.
        assert_eq!(
            store.contact(by_user.contact.id).unwrap().unwrap().id,
            joined.contact.id
        );
        let again = store
            .resolve_contact("n", &identity(Some("5511987654321"), Some("BR.1")), now)
            .unwrap();
        assert!(!again.changed);
        // A new BSUID: the old one still finds the contact.
        store
            .rekey_contact("n", "BR.1", "BR.2", now)
            .unwrap()
            .unwrap();
        let found = store.find_contacts("BR.1", None).unwrap();
        assert_eq!(found[0].user_id.as_deref(), Some("BR.2"));
        assert_eq!(
            store.contacts(None, 10).unwrap().len(),
            1,
            "one contact listed"
        );
        // A new phone (the customer changed numbers): the old one still finds them.
        store
            .resolve_contact("n", &identity(Some("5511955550000"), Some("BR.2")), now)
            .unwrap();
        assert_eq!(store.find_contacts("551187654321", None).unwrap().len(), 1);
        store.erase_contact(joined.contact.id).unwrap();
        for key in ["551187654321", "5511955550000", "BR.1", "BR.2"] {
            assert!(store.find_contacts(key, None).unwrap().is_empty(), "{key}");
        }
        assert!(store.trees().contacts_by_key.is_empty());
        assert!(store.trees().contacts.is_empty());
    }
}
