//! Campaigns and their sends (`campaigns`, `campaign_sends`).
//!
//! A campaign's audience becomes one send record per contact when it starts running, in
//! chunks, each written only where none exists yet: a chunk written again after a crash
//! never turns a send that went out back into one that waits. From then on a send only
//! moves forward ([`SendState::may_become`]), written with the message that carries it.

use chrono::{DateTime, Utc};

use crate::keys::send_key;
use crate::records::campaign::{
    Audience, Campaign, CampaignSend, CampaignStatus, SendCounts, SendState,
};
use crate::records::contact::Contact;
use crate::store::{decode, encode};
use crate::{CampaignId, ContactFilter, ContactId, Result, Store, Write};

/// Who an audience leaves out, before it starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AudienceSize {
    /// Contacts the campaign would send to.
    pub included: u64,
    /// Matching contacts left out because they opted out of marketing messages.
    pub opted_out: u64,
    /// Matching contacts left out because they have no phone (known only by a BSUID).
    pub no_phone: u64,
}

impl Audience {
    /// The contacts of `number` this audience names, before the ones always left out.
    fn filter(&self, number: &str) -> ContactFilter {
        ContactFilter {
            labels: self.labels.clone(),
            fields: self.fields.clone(),
            number: Some(number.to_string()),
            ..Default::default()
        }
    }
}

/// Why a contact of an audience gets nothing (`None`: it may be sent to).
pub fn left_out(contact: &Contact) -> Option<&'static str> {
    if contact.marketing_opt_out.is_some() {
        Some("opted_out")
    } else if contact.wa_id.is_none() {
        Some("no_phone")
    } else {
        None
    }
}

impl Store {
    pub fn campaign(&self, id: CampaignId) -> Result<Option<Campaign>> {
        self.trees()
            .campaigns
            .get(id.key())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Every campaign, newest first.
    pub fn campaigns(&self) -> Result<Vec<Campaign>> {
        self.trees()
            .campaigns
            .iter()
            .rev()
            .map(|e| decode(&e?.1))
            .collect()
    }

    /// Writes a campaign (durable after [`Store::durable`]).
    pub fn put_campaign(&self, campaign: &Campaign) -> Result<()> {
        self.trees()
            .campaigns
            .insert(campaign.id.key(), encode(campaign)?)?;
        Ok(())
    }

    /// A new campaign id.
    pub fn new_campaign_id(&self) -> Result<CampaignId> {
        Ok(CampaignId(self.next_id()?))
    }

    /// How many contacts an audience reaches now, and how many it leaves out.
    pub fn audience_size(&self, campaign: &Campaign) -> Result<AudienceSize> {
        let mut size = AudienceSize::default();
        let mut cursor = None;
        loop {
            let (contacts, next) = self.audience_contacts(campaign, cursor, 1000)?;
            for contact in &contacts {
                match left_out(contact) {
                    None => size.included += 1,
                    Some("opted_out") => size.opted_out += 1,
                    Some(_) => size.no_phone += 1,
                }
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(size),
            }
        }
    }

    /// The audience's contacts after the cursor `after`, in id order, about `limit` of
    /// them, and the cursor to go on from (`None`: that was the last of them).
    fn audience_contacts(
        &self,
        campaign: &Campaign,
        after: Option<ContactId>,
        limit: usize,
    ) -> Result<(Vec<Contact>, Option<ContactId>)> {
        let filter = campaign.audience.filter(&campaign.phone_number_id);
        if campaign.audience.contact_ids.is_empty() {
            let page = self.contact_page(&filter, after, limit)?;
            return Ok((page.contacts, page.next));
        }
        let mut ids = campaign.audience.contact_ids.clone();
        ids.sort();
        ids.dedup();
        ids.retain(|id| after.is_none_or(|a| *id > a));
        let more = ids.len() > limit;
        ids.truncate(limit);
        let mut contacts: Vec<Contact> = Vec::new();
        for id in &ids {
            // A joined contact reads as the one it joined: that one is sent to, once.
            if let Some(contact) = self.contact(*id)? {
                if filter.matches(&contact) && !contacts.iter().any(|c| c.id == contact.id) {
                    contacts.push(contact);
                }
            }
        }
        Ok((contacts, more.then(|| ids.last().copied()).flatten()))
    }

    /// Turns up to `chunk` more contacts of the stored campaign's audience into waiting
    /// sends (the ones left out as `skipped`, with the reason), never replacing a send
    /// that exists. Of the campaign record only how far it got changes, and only while it
    /// runs: an admin's pause or cancel meanwhile stays. Answers the record after the
    /// chunk, or `None` when the campaign is gone or no longer running.
    pub fn materialize(&self, id: CampaignId, chunk: usize) -> Result<Option<Campaign>> {
        let running = |c: &Campaign| c.status == CampaignStatus::Running;
        let Some(campaign) = self.campaign(id)?.filter(running) else {
            return Ok(None);
        };
        if campaign.materialized {
            return Ok(Some(campaign));
        }
        let now = Utc::now();
        let (contacts, next) =
            self.audience_contacts(&campaign, campaign.materialized_up_to, chunk)?;
        let mut write = Write::default();
        for contact in &contacts {
            if self
                .trees()
                .campaign_sends
                .contains_key(send_key(campaign.id, contact.id))?
            {
                continue;
            }
            let skipped = left_out(contact);
            write.campaign_send(&CampaignSend {
                campaign_id: campaign.id,
                contact_id: contact.id,
                state: if skipped.is_some() {
                    SendState::Skipped
                } else {
                    SendState::Queued
                },
                chat_id: None,
                message_id: None,
                reason: skipped.map(String::from),
                sent_at: None,
                updated_at: now,
            });
        }
        // The sends first: a campaign record on disk says its sends are too (sled keeps
        // a prefix of its log).
        self.commit(write)?;
        self.change_campaign_if(id, CampaignStatus::Running, |stored| {
            match next {
                Some(next) => stored.materialized_up_to = Some(next),
                None => stored.materialized = true,
            }
            stored.updated_at = now;
        })
    }

    /// Changes the stored campaign in place with `change` if its status is still
    /// `status`, so that what an admin wrote meanwhile (a pause, a cancel) stays: the
    /// record after, or `None` when it is gone or its status moved on.
    pub fn change_campaign_if(
        &self,
        id: CampaignId,
        status: CampaignStatus,
        change: impl Fn(&mut Campaign),
    ) -> Result<Option<Campaign>> {
        let mut changed = false;
        let stored = self.trees().campaigns.update_and_fetch(id.key(), |old| {
            let old = old?;
            changed = false;
            match decode::<Campaign>(old) {
                Ok(mut stored) if stored.status == status => {
                    change(&mut stored);
                    // (None here would delete the record: a failed encoding keeps it.)
                    let bytes = encode(&stored).ok();
                    changed = bytes.is_some();
                    Some(bytes.unwrap_or_else(|| old.to_vec()))
                }
                _ => Some(old.to_vec()),
            }
        })?;
        match stored {
            Some(bytes) if changed => Ok(Some(decode(&bytes)?)),
            _ => Ok(None),
        }
    }

    pub fn campaign_send(
        &self,
        campaign: CampaignId,
        contact: ContactId,
    ) -> Result<Option<CampaignSend>> {
        self.trees()
            .campaign_sends
            .get(send_key(campaign, contact))?
            .map(|b| decode(&b))
            .transpose()
    }

    /// A campaign's sends in contact order after `after`, of `state` only when given.
    pub fn campaign_sends(
        &self,
        campaign: CampaignId,
        state: Option<SendState>,
        after: Option<ContactId>,
        limit: usize,
    ) -> Result<Vec<CampaignSend>> {
        let start = match after {
            Some(a) => send_key(campaign, ContactId(a.0.saturating_add(1))),
            None => campaign.key().to_vec(),
        };
        let end = CampaignId(campaign.0 + 1).key().to_vec();
        let mut found = Vec::new();
        for entry in self.trees().campaign_sends.range(start..end) {
            let send: CampaignSend = decode(&entry?.1)?;
            if state.is_none_or(|s| s == send.state) {
                found.push(send);
                if found.len() >= limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// A campaign's sends counted by how far they got.
    pub fn campaign_counts(&self, campaign: CampaignId) -> Result<SendCounts> {
        let mut counts = SendCounts::default();
        for entry in self.trees().campaign_sends.scan_prefix(campaign.key()) {
            let send: CampaignSend = decode(&entry?.1)?;
            counts.add(send.state);
        }
        Ok(counts)
    }

    /// The contacts that campaigns of `number` reached since `since` (their sends left
    /// the outbox queue then), for the messaging tier's rolling count of unique recipients.
    pub fn campaign_recipients_since(
        &self,
        number: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(ContactId, DateTime<Utc>)>> {
        let mut found = Vec::new();
        for campaign in self.campaigns()? {
            let recent = campaign.finished_at.is_none_or(|at| at >= since);
            if campaign.phone_number_id != number
                || campaign.status == CampaignStatus::Draft
                || !recent
            {
                continue;
            }
            for entry in self.trees().campaign_sends.scan_prefix(campaign.id.key()) {
                let send: CampaignSend = decode(&entry?.1)?;
                if let Some(at) = send.sent_at.filter(|at| *at >= since) {
                    found.push((send.contact_id, at));
                }
            }
        }
        Ok(found)
    }

    /// Marks a waiting send skipped (left out at its turn), unless it moved meanwhile.
    pub fn skip_send(&self, campaign: CampaignId, contact: ContactId, reason: &str) -> Result<()> {
        if let Some(mut send) = self.campaign_send(campaign, contact)? {
            if send.state == SendState::Queued {
                send.state = SendState::Skipped;
                send.reason = Some(reason.into());
                send.updated_at = Utc::now();
                let mut write = Write::default();
                write.campaign_send(&send);
                self.commit(write)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::campaign::CampaignTemplate;
    use crate::{ContactRow, UserId};

    /// A running campaign of number `n` to all its contacts, not yet made into sends.
    fn running(store: &Store, now: DateTime<Utc>) -> Campaign {
        Campaign {
            id: store.new_campaign_id().unwrap(),
            name: "Natal".into(),
            phone_number_id: "n".into(),
            template: CampaignTemplate {
                name: "oferta".into(),
                language: "pt_BR".into(),
                category: "MARKETING".into(),
                body: "Oi {{1}}".into(),
            },
            variables: vec!["{{contact.name|cliente}}".into()],
            audience: Audience::default(),
            queue_id: None,
            start_at: None,
            rate: None,
            status: CampaignStatus::Running,
            materialized: false,
            materialized_up_to: None,
            created_by: UserId(1),
            created_at: now,
            updated_at: now,
            started_at: Some(now),
            finished_at: None,
        }
    }

    #[test]
    fn an_audience_becomes_one_send_per_contact_and_a_redone_chunk_changes_no_send() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        let rows: Vec<ContactRow> = (0..7)
            .map(|i| ContactRow {
                phone: format!("55119876500{i:02}"),
                labels: vec![if i % 2 == 0 { "vip" } else { "novo" }.into()],
                opt_in: (i == 2).then_some(false),
                ..Default::default()
            })
            .collect();
        store.import_contacts("n", &rows, now).unwrap();
        let mut campaign = running(&store, now);
        campaign.audience.labels = vec!["vip".into()];
        let size = store.audience_size(&campaign).unwrap();
        assert_eq!((size.included, size.opted_out, size.no_phone), (3, 1, 0));
        store.put_campaign(&campaign).unwrap();
        let mut rounds = 0;
        while !store
            .materialize(campaign.id, 1)
            .unwrap()
            .unwrap()
            .materialized
        {
            rounds += 1;
            assert!(rounds < 10);
        }
        let counts = store.campaign_counts(campaign.id).unwrap();
        assert_eq!((counts.total, counts.queued, counts.skipped), (4, 3, 1));
        // One goes out; the whole audience is then written again, as after a crash.
        let mut first = store
            .campaign_sends(campaign.id, Some(SendState::Queued), None, 1)
            .unwrap()
            .remove(0);
        first.state = SendState::Sending;
        let mut write = Write::default();
        write.campaign_send(&first);
        store.commit(write).unwrap();
        campaign.materialized = false;
        campaign.materialized_up_to = None;
        store.put_campaign(&campaign).unwrap();
        assert!(
            store
                .materialize(campaign.id, 100)
                .unwrap()
                .unwrap()
                .materialized
        );
        let again = store.campaign_counts(campaign.id).unwrap();
        assert_eq!((again.total, again.queued, again.sending), (4, 2, 1));
    }

    #[test]
    fn a_pause_or_cancel_written_while_the_audience_is_made_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        let rows: Vec<ContactRow> = (0..4)
            .map(|i| ContactRow {
                phone: format!("55119876500{i:02}"),
                ..Default::default()
            })
            .collect();
        store.import_contacts("n", &rows, now).unwrap();
        let campaign = running(&store, now);
        store.put_campaign(&campaign).unwrap();
        let made = store.materialize(campaign.id, 1).unwrap().unwrap();
        assert!(!made.materialized && made.materialized_up_to.is_some());
        for status in [CampaignStatus::Paused, CampaignStatus::Cancelled] {
            // The admin's change lands between two chunks of the runner.
            let mut changed = made.clone();
            changed.status = status;
            store.put_campaign(&changed).unwrap();
            assert_eq!(store.materialize(campaign.id, 1).unwrap(), None);
            assert_eq!(store.campaign(campaign.id).unwrap(), Some(changed));
        }
    }

    #[test]
    fn a_campaign_changes_only_from_the_status_the_change_expects() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut campaign = running(&store, Utc::now());
        campaign.status = CampaignStatus::Scheduled;
        store.put_campaign(&campaign).unwrap();
        let start = |c: &mut Campaign| c.status = CampaignStatus::Running;
        // A cancel lands before the runner starts it: it stays cancelled.
        let mut cancelled = campaign.clone();
        cancelled.status = CampaignStatus::Cancelled;
        store.put_campaign(&cancelled).unwrap();
        let id = campaign.id;
        let refused = store.change_campaign_if(id, CampaignStatus::Scheduled, start);
        assert_eq!(refused.unwrap(), None);
        assert_eq!(store.campaign(id).unwrap(), Some(cancelled));
        store.put_campaign(&campaign).unwrap();
        let started = store.change_campaign_if(id, CampaignStatus::Scheduled, start);
        assert_eq!(started.unwrap().unwrap().status, CampaignStatus::Running);
        assert_eq!(
            store.campaign(id).unwrap().unwrap().status,
            CampaignStatus::Running
        );
        let gone = store.change_campaign_if(CampaignId(999_999), CampaignStatus::Running, start);
        assert_eq!(gone.unwrap(), None);
    }
}
