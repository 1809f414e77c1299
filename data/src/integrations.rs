//! The `api_tokens`, `webhook_subscriptions`, `webhook_deliveries` and `webhook_pending`
//! trees (docs/ARCHITECTURE.md, "Integrations").
//!
//! Admin changes (tokens, subscriptions) are flushed before they return. Deliveries are
//! not: they are made again from the event log after a crash (the dispatcher's cursor in
//! `meta` says from where), and a delivery made twice is the same record under the same
//! key.

use chrono::{DateTime, Utc};

use crate::keys::meta;
use crate::records::integration::{ApiToken, Delivery, DeliveryState, Subscription};
use crate::store::{decode, encode};
use crate::{Result, UserId};

/// Key of a delivery: subscription id, then event number, both big-endian.
fn delivery_key(subscription: u64, seq: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&subscription.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

impl crate::Store {
    /// A fresh id for a token or subscription.
    pub fn integration_id(&self) -> Result<u64> {
        self.next_id()
    }

    /// Saves a token (new or changed) durably.
    pub fn put_api_token(&self, token: &ApiToken) -> Result<()> {
        self.trees()
            .api_tokens
            .insert(token.id.key(), encode(token)?)?;
        self.flush_blocking()
    }

    /// One token.
    pub fn api_token(&self, id: UserId) -> Result<Option<ApiToken>> {
        self.trees()
            .api_tokens
            .get(id.key())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Every token, oldest first.
    pub fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        self.trees()
            .api_tokens
            .iter()
            .map(|e| decode(&e?.1))
            .collect()
    }

    /// The tokens that are bots.
    pub fn bots(&self) -> Result<Vec<ApiToken>> {
        let mut tokens = self.api_tokens()?;
        tokens.retain(|t| t.bot.is_some());
        Ok(tokens)
    }

    /// The bot that takes new chats of `number`, if one does.
    pub fn bot_for_number(&self, number: &str) -> Result<Option<ApiToken>> {
        Ok(self.bots()?.into_iter().find(|t| {
            t.bot
                .as_ref()
                .is_some_and(|b| b.numbers.iter().any(|n| n == number))
        }))
    }

    /// The bot that takes chats entering `queue` from the menu, if one does.
    pub fn bot_for_queue(&self, queue: &str) -> Result<Option<ApiToken>> {
        Ok(self.bots()?.into_iter().find(|t| {
            t.bot
                .as_ref()
                .is_some_and(|b| b.queues.iter().any(|q| q == queue))
        }))
    }

    /// Revokes a token: it is gone once this returns. False when there was none.
    pub fn delete_api_token(&self, id: UserId) -> Result<bool> {
        let removed = self.trees().api_tokens.remove(id.key())?.is_some();
        self.flush_blocking()?;
        Ok(removed)
    }

    /// Notes a token's use (durable with the next flush; a lost one costs a minute of
    /// "last used"). A token revoked meanwhile stays revoked.
    pub fn touch_api_token(&self, id: UserId, at: DateTime<Utc>) -> Result<()> {
        let tree = &self.trees().api_tokens;
        tree.fetch_and_update(id.key(), |old| {
            let mut token: ApiToken = decode(old?).ok()?;
            token.last_used_at = Some(at);
            encode(&token).ok()
        })?;
        Ok(())
    }

    /// Every subscription, oldest first.
    pub fn subscriptions(&self) -> Result<Vec<Subscription>> {
        self.trees()
            .subscriptions
            .iter()
            .map(|e| decode(&e?.1))
            .collect()
    }

    /// One subscription.
    pub fn subscription(&self, id: u64) -> Result<Option<Subscription>> {
        self.trees()
            .subscriptions
            .get(id.to_be_bytes())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Saves a subscription durably.
    pub fn put_subscription(&self, subscription: &Subscription) -> Result<()> {
        self.trees()
            .subscriptions
            .insert(subscription.id.to_be_bytes(), encode(subscription)?)?;
        self.flush_blocking()
    }

    /// Changes a stored subscription in place (durable with the next flush); `None` when
    /// it is gone. For the dispatcher's health marks, which must not undo an admin's edit.
    pub fn update_subscription(
        &self,
        id: u64,
        change: impl Fn(&mut Subscription),
    ) -> Result<Option<Subscription>> {
        let updated = self
            .trees()
            .subscriptions
            .update_and_fetch(id.to_be_bytes(), |old| {
                let mut subscription: Subscription = decode(old?).ok()?;
                change(&mut subscription);
                encode(&subscription).ok()
            })?;
        updated.map(|b| decode(&b)).transpose()
    }

    /// Removes a subscription and its deliveries; false when there was none.
    pub fn delete_subscription(&self, id: u64) -> Result<bool> {
        let trees = self.trees();
        let removed = trees.subscriptions.remove(id.to_be_bytes())?.is_some();
        let prefix = id.to_be_bytes();
        for tree in [&trees.deliveries, &trees.deliveries_pending] {
            for key in tree.scan_prefix(prefix).keys() {
                tree.remove(key?)?;
            }
        }
        self.flush_blocking()?;
        Ok(removed)
    }

    /// Saves a delivery, keeping the index of pending ones in step.
    pub fn put_delivery(&self, delivery: &Delivery) -> Result<()> {
        let trees = self.trees();
        let key = delivery_key(delivery.subscription, delivery.seq);
        trees.deliveries.insert(key, encode(delivery)?)?;
        if delivery.state == DeliveryState::Pending {
            trees.deliveries_pending.insert(key, &[][..])?;
        } else {
            trees.deliveries_pending.remove(key)?;
        }
        Ok(())
    }

    /// Saves a new delivery unless one for the same event and subscription exists; the
    /// delivery as stored when it is pending (to be queued), `None` when it is finished.
    ///
    /// A pending one found already gets its index entry again: a crash may have kept the
    /// delivery and lost the entry written after it, and the event is then taken again.
    pub fn add_delivery(&self, delivery: &Delivery) -> Result<Option<Delivery>> {
        let trees = self.trees();
        let key = delivery_key(delivery.subscription, delivery.seq);
        let swapped =
            trees
                .deliveries
                .compare_and_swap(key, None::<&[u8]>, Some(encode(delivery)?))?;
        let stored = match swapped.map_err(|found| found.current) {
            Ok(()) => delivery.clone(),
            Err(Some(existing)) => decode(&existing)?,
            // Only an existing value fails a swap from none.
            Err(None) => return Ok(None),
        };
        if stored.state != DeliveryState::Pending {
            return Ok(None);
        }
        trees.deliveries_pending.insert(key, &[][..])?;
        Ok(Some(stored))
    }

    /// One delivery.
    pub fn delivery(&self, subscription: u64, seq: u64) -> Result<Option<Delivery>> {
        self.trees()
            .deliveries
            .get(delivery_key(subscription, seq))?
            .map(|b| decode(&b))
            .transpose()
    }

    /// A subscription's deliveries, newest first, before event `before` when given.
    pub fn deliveries_page(
        &self,
        subscription: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        let start = delivery_key(subscription, 0);
        let end = delivery_key(subscription, before.unwrap_or(u64::MAX));
        self.trees()
            .deliveries
            .range(start..end)
            .rev()
            .take(limit)
            .map(|e| decode(&e?.1))
            .collect()
    }

    /// Every pending delivery, by subscription then event number.
    pub fn pending_deliveries(&self) -> Result<Vec<Delivery>> {
        let trees = self.trees();
        let mut found = Vec::new();
        for key in trees.deliveries_pending.iter().keys() {
            if let Some(bytes) = trees.deliveries.get(key?)? {
                found.push(decode(&bytes)?);
            }
        }
        Ok(found)
    }

    /// How many of a subscription's deliveries are pending.
    pub fn pending_deliveries_of(&self, subscription: u64) -> Result<usize> {
        Ok(self
            .trees()
            .deliveries_pending
            .scan_prefix(subscription.to_be_bytes())
            .count())
    }

    /// Removes finished deliveries made before `before`; how many went.
    pub fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<usize> {
        let tree = &self.trees().deliveries;
        let mut removed = 0;
        for entry in tree.iter() {
            let (key, bytes) = entry?;
            let delivery: Delivery = decode(&bytes)?;
            if delivery.state != DeliveryState::Pending && delivery.created_at < before {
                tree.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The newest event the webhook dispatcher has made deliveries for (as far as the
    /// disk knows).
    pub fn hooks_cursor(&self) -> Result<u64> {
        Ok(self
            .trees()
            .meta
            .get(meta::HOOKS_CURSOR)?
            .and_then(|b| b.as_ref().try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    /// Moves the dispatcher's cursor (durable with the next flush).
    pub fn set_hooks_cursor(&self, seq: u64) -> Result<()> {
        self.trees()
            .meta
            .insert(meta::HOOKS_CURSOR, &seq.to_be_bytes()[..])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(seq: u64) -> Delivery {
        Delivery {
            subscription: 1,
            seq,
            event: "chat.created".into(),
            order_key: "chat:5".into(),
            body: "{}".into(),
            state: DeliveryState::Pending,
            attempts: 0,
            log: Vec::new(),
            next_attempt_at: Utc::now(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_delivery_taken_again_after_a_crash_lost_its_index_entry_is_pending_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).unwrap();
        let made = delivery(7);
        assert_eq!(store.add_delivery(&made).unwrap(), Some(made.clone()));
        // The crash kept the delivery and lost the index entry written after it.
        store
            .trees()
            .deliveries_pending
            .remove(delivery_key(1, 7))
            .unwrap();
        assert!(store.pending_deliveries().unwrap().is_empty());

        let again = Delivery {
            body: "made again".into(),
            ..made.clone()
        };
        assert_eq!(
            store.add_delivery(&again).unwrap(),
            Some(made.clone()),
            "the stored one, to be queued"
        );
        assert_eq!(store.pending_deliveries().unwrap(), vec![made.clone()]);
        assert_eq!(store.pending_deliveries_of(1).unwrap(), 1);

        let delivered = Delivery {
            state: DeliveryState::Delivered,
            ..made
        };
        store.put_delivery(&delivered).unwrap();
        assert_eq!(
            store.add_delivery(&again).unwrap(),
            None,
            "finished: not again"
        );
        assert!(store.pending_deliveries().unwrap().is_empty());
    }
}
