//! The contact book: contacts listed by search and filters, and contacts imported in bulk
//! (a CSV's rows, already checked by the web layer) without ever making one person twice.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::records::contact::{Contact, KeyKind, OptOut};
use crate::records::settings::keyword;
use crate::store::decode;
use crate::{phone, ContactId, Result, Store, Write};

/// Contacts read at most for one page: a filter that matches few contacts answers a short
/// page with a cursor to go on from, rather than reading the whole book at once.
const SCAN_BUDGET: usize = 50_000;
/// Rows imported under one hold of the contact lock (webhooks wait for it meanwhile).
const IMPORT_CHUNK: usize = 500;

/// Which contacts a page lists; every given condition must hold.
#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    /// Words found in the names or username (any case, accents ignored), or digits found
    /// in the phone (either form of a Brazilian mobile), or the BSUID.
    pub q: Option<String>,
    /// Any of these labels (tags).
    pub labels: Vec<String>,
    /// Fields holding these stored values (key, value).
    pub fields: Vec<(String, String)>,
    /// Opted out of marketing messages, or not.
    pub opted_out: Option<bool>,
    /// Known by a phone number, or only by a BSUID.
    pub has_phone: Option<bool>,
    /// On this business number.
    pub number: Option<String>,
}

impl ContactFilter {
    pub fn matches(&self, contact: &Contact) -> bool {
        let labelled = self.labels.is_empty()
            || self
                .labels
                .iter()
                .any(|l| contact.tags.iter().any(|t| t.eq_ignore_ascii_case(l)));
        labelled
            && self
                .fields
                .iter()
                .all(|(k, v)| contact.fields.get(k) == Some(v))
            && self
                .opted_out
                .is_none_or(|o| o == contact.marketing_opt_out.is_some())
            && self.has_phone.is_none_or(|p| p == contact.wa_id.is_some())
            && self
                .number
                .as_ref()
                .is_none_or(|n| *n == contact.phone_number_id)
            && self.q.as_deref().is_none_or(|q| found_by(contact, q))
    }
}

/// Whether the search `q` finds `contact`.
fn found_by(contact: &Contact, q: &str) -> bool {
    let q = q.trim();
    if q.is_empty() {
        return true;
    }
    let digits = phone::digits(q);
    if digits.len() >= 3 && digits.len() * 2 >= q.chars().filter(|c| !c.is_whitespace()).count() {
        let forms = contact
            .wa_id
            .as_deref()
            .map(phone::forms)
            .unwrap_or_default();
        if forms.iter().any(|f| f.contains(&digits)) {
            return true;
        }
    }
    if contact.user_id.as_deref() == Some(q) {
        return true;
    }
    let names: String = [&contact.name, &contact.profile_name, &contact.username]
        .into_iter()
        .flatten()
        .map(|n| keyword(n))
        .collect::<Vec<_>>()
        .join(" ");
    keyword(q)
        .split_whitespace()
        .all(|word| names.contains(word))
}

/// One page of the contact book.
#[derive(Debug)]
pub struct ContactPage {
    pub contacts: Vec<Contact>,
    /// Where the next page starts (the last contact read), when there may be more.
    pub next: Option<ContactId>,
}

/// One checked row of an import.
#[derive(Clone, Debug, Default)]
pub struct ContactRow {
    /// The phone's digits with the country code.
    pub phone: String,
    pub name: Option<String>,
    pub labels: Vec<String>,
    pub notes: Option<String>,
    /// Stored forms, by field key.
    pub fields: BTreeMap<String, String>,
    /// The opt-in column: yes, no, or not given.
    pub opt_in: Option<bool>,
}

/// What importing a row did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowOutcome {
    Created(ContactId),
    /// The phone was known: the row's values were added to that contact.
    Merged(ContactId),
    /// Merged, but the row's "yes" to marketing did not undo the customer's own "stop".
    MergedOptOutKept(ContactId),
}

impl Store {
    /// The contacts `filter` finds, in id order, after `cursor` when given.
    pub fn contact_page(
        &self,
        filter: &ContactFilter,
        cursor: Option<ContactId>,
        limit: usize,
    ) -> Result<ContactPage> {
        let start = cursor.map(|c| ContactId(c.0.saturating_add(1)).key());
        let mut contacts = Vec::new();
        let mut last = None;
        for (read, entry) in self
            .trees()
            .contacts
            .range(start.unwrap_or_default()..)
            .enumerate()
        {
            if read >= SCAN_BUDGET {
                return Ok(ContactPage {
                    contacts,
                    next: last,
                });
            }
            let contact: Contact = decode(&entry?.1)?;
            last = Some(contact.id);
            if contact.merged_into.is_none() && filter.matches(&contact) {
                contacts.push(contact);
                if contacts.len() > limit {
                    contacts.pop();
                    return Ok(ContactPage {
                        next: contacts.last().map(|c| c.id),
                        contacts,
                    });
                }
            }
        }
        Ok(ContactPage {
            contacts,
            next: None,
        })
    }

    /// Imports `rows` as contacts of `number`: a phone already known (in either form of a
    /// Brazilian mobile, also earlier in the same import) is merged into its contact, the
    /// rest are created. A row's "yes" to marketing never undoes a "stop" the customer
    /// gave themselves. Not durable on return: the caller waits for [`Store::durable`].
    pub fn import_contacts(
        &self,
        number: &str,
        rows: &[ContactRow],
        at: DateTime<Utc>,
    ) -> Result<Vec<RowOutcome>> {
        let mut outcomes = Vec::with_capacity(rows.len());
        // Contacts written by this import, by phone key: a repeated phone merges into the
        // contact its first row made.
        let mut made: HashMap<String, ContactId> = HashMap::new();
        for chunk in rows.chunks(IMPORT_CHUNK) {
            let _lock = self.contact_lock();
            let mut write = Write::default();
            let mut pending: HashMap<ContactId, Contact> = HashMap::new();
            for row in chunk {
                let key = phone::canonical(&row.phone);
                let known = match made.get(&key) {
                    Some(id) => match pending.remove(id) {
                        Some(contact) => Some(contact),
                        None => self.contact(*id)?,
                    },
                    None => self.contact_by(number, KeyKind::Phone, &key)?,
                };
                let (mut contact, created) = match known {
                    Some(contact) => (contact, false),
                    None => {
                        let mut contact = Contact::new(ContactId(self.next_id()?), number, at);
                        contact.wa_id = Some(row.phone.clone());
                        (contact, true)
                    }
                };
                let before = contact.clone();
                let kept_opt_out = take_row(&mut contact, row, at);
                contact.updated_at = at;
                made.insert(key, contact.id);
                outcomes.push(match (created, kept_opt_out) {
                    (true, _) => RowOutcome::Created(contact.id),
                    (false, true) => RowOutcome::MergedOptOutKept(contact.id),
                    (false, false) => RowOutcome::Merged(contact.id),
                });
                if !created && crate::contacts::names_changed(&before, &contact) {
                    self.contact_terms_for_chats(&contact, &mut write)?;
                }
                pending.insert(contact.id, contact);
            }
            for contact in pending.values() {
                write.contact(contact);
            }
            self.commit(write)?;
        }
        Ok(outcomes)
    }
}

/// Takes a row's values into `contact`; true when the row said "yes" to marketing but the
/// customer's own "stop" stays.
fn take_row(contact: &mut Contact, row: &ContactRow, at: DateTime<Utc>) -> bool {
    if let Some(name) = &row.name {
        contact.name = Some(name.clone());
    }
    for label in &row.labels {
        if !contact.tags.iter().any(|t| t.eq_ignore_ascii_case(label)) {
            contact.tags.push(label.clone());
        }
    }
    if let Some(notes) = &row.notes {
        contact.notes = match contact.notes.take() {
            Some(old) if old.contains(notes.as_str()) => Some(old),
            Some(old) => Some(format!("{old}\n{notes}")),
            None => Some(notes.clone()),
        };
    }
    for (key, value) in &row.fields {
        contact.fields.insert(key.clone(), value.clone());
    }
    let said = |source: &str| OptOut {
        at,
        source: source.into(),
    };
    match row.opt_in {
        Some(true) => {
            contact.marketing_opt_in = Some(said("import"));
            let customer_said_stop = contact
                .marketing_opt_out
                .as_ref()
                .is_some_and(|o| o.source == "whatsapp" || o.source == "keyword");
            if customer_said_stop {
                return true;
            }
            contact.marketing_opt_out = None;
        }
        Some(false) if contact.marketing_opt_out.is_none() => {
            contact.marketing_opt_out = Some(said("import"));
        }
        _ => {}
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(phone: &str, name: &str) -> ContactRow {
        ContactRow {
            phone: phone.into(),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn an_import_merges_known_phones_and_repeats_and_keeps_a_customers_stop() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        let known = store
            .resolve_contact(
                "n",
                &crate::Identity {
                    wa_id: Some("551187654321".into()),
                    ..Default::default()
                },
                now,
            )
            .unwrap()
            .contact;
        store
            .update_contact(known.id, |c| {
                c.marketing_opt_out = Some(OptOut {
                    at: now,
                    source: "keyword".into(),
                })
            })
            .unwrap();
        let mut yes = row("5511987654321", "Rosa");
        yes.opt_in = Some(true);
        yes.labels = vec!["vip".into()];
        let rows = vec![
            yes,
            row("5521999990000", "Ana"),
            row("552199990000", "Ana Maria"),
        ];
        let outcomes = store.import_contacts("n", &rows, now).unwrap();
        assert_eq!(outcomes[0], RowOutcome::MergedOptOutKept(known.id));
        let RowOutcome::Created(ana) = outcomes[1] else {
            panic!("{outcomes:?}");
        };
        assert_eq!(
            outcomes[2],
            RowOutcome::Merged(ana),
            "the eight-digit form is the same phone"
        );
        let rosa = store.contact(known.id).unwrap().unwrap();
        assert!(rosa.marketing_opt_out.is_some() && rosa.marketing_opt_in.is_some());
        assert_eq!(rosa.tags, ["vip"]);
        let filter = ContactFilter {
            q: Some("ana maria".into()),
            ..Default::default()
        };
        let page = store.contact_page(&filter, None, 10).unwrap();
        assert_eq!(page.contacts.len(), 1);
        assert_eq!(page.contacts[0].id, ana);
        let vip = ContactFilter {
            labels: vec!["VIP".into()],
            opted_out: Some(false),
            ..Default::default()
        };
        assert!(store
            .contact_page(&vip, None, 10)
            .unwrap()
            .contacts
            .is_empty());
        let by_digits = ContactFilter {
            q: Some("9999-0000".into()),
            ..Default::default()
        };
        assert_eq!(
            store
                .contact_page(&by_digits, None, 10)
                .unwrap()
                .contacts
                .len(),
            1
        );
    }
}
