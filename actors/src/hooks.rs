//! [`Hooks`]: outgoing webhooks (docs/ARCHITECTURE.md, "Integrations").
//!
//! The event bus hands over every event it fans out, so only events whose change is on
//! disk. For each subscription that wants it, the event becomes a [`Delivery`], stored
//! under (subscription, event number) with the exact JSON body that is signed and sent on
//! every attempt. Deliveries are not flushed on their own: after a crash the dispatcher
//! reads the event log from its cursor and makes any lost one again, under the same key
//! and delivery id, so none is lost and a receiver that deduplicates by id sees each once.
//! An event the log never got (a crash right after its change) is published again from
//! its intent, which the change's write carried ([`Publish::promised_in`]); the
//! dispatcher drops each intent once the event's deliveries are made.
//!
//! Order: the deliveries of one chat (or contact) go one after another, each only after
//! the one before it succeeded or was given up; different chats go in parallel, up to
//! [`IN_FLIGHT`] per subscription. A failed attempt is retried with exponential backoff
//! until the delivery is [`HookRules::give_up_after`] old; a subscription that has failed
//! for [`HookRules::pause_after`] is paused and the admins are told. A paused
//! subscription keeps its pending deliveries (and gathers new ones) until it is resumed.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use actix::prelude::*;
use atende_data::{
    Attempt, AuditEntry, Delivery, DeliveryState, Event, Scope, Store, Subscription, Viewer,
};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::events::{EventBus, Payload, Publish};

/// The events a subscription may ask for.
pub const HOOK_EVENTS: &[&str] = &[
    "message.created",
    "message.updated",
    "chat.created",
    "chat.assigned",
    "chat.updated",
    "chat.closed",
    "contact.updated",
    "csat.answered",
];

/// Attempts at once per subscription (each to a different chat).
const IN_FLIGHT: usize = 4;
/// Attempts kept in a delivery's log.
const KEPT_ATTEMPTS: usize = 10;
/// Bytes of a response body kept in the log.
const EXCERPT_BYTES: usize = 512;
/// Finished deliveries are kept this long for the delivery log.
const KEEP_FINISHED: chrono::Duration = chrono::Duration::days(7);
/// How often finished deliveries are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How deliveries are retried.
#[derive(Clone, Copy, Debug)]
pub struct HookRules {
    /// The first retry's wait; each next one waits twice as long, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// A delivery older than this is not retried again (failed; it can be redelivered).
    pub give_up_after: chrono::Duration,
    /// A subscription failing this long is paused.
    pub pause_after: chrono::Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for HookRules {
    fn default() -> Self {
        HookRules {
            retry_base: Duration::from_secs(15),
            retry_cap: Duration::from_secs(3600),
            give_up_after: chrono::Duration::days(3),
            pause_after: chrono::Duration::hours(24),
            timeout: Duration::from_secs(10),
        }
    }
}

impl HookRules {
    /// The wait before the retry that follows `attempts` failed attempts.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        self.retry_base.saturating_mul(factor).min(self.retry_cap)
    }
}

/// The value of `X-Atende-Signature` for `body` sent at Unix time `t`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// An event the bus fanned out.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Fanned(pub Event);

/// Subscriptions were added, changed or removed: read them again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubscriptionsChanged;

/// Send a delivery again now, whatever its state.
#[derive(Message)]
#[rtype(result = "crate::Result<()>")]
pub struct Redeliver {
    pub subscription: u64,
    pub seq: u64,
}

/// A pending delivery, as much of it as scheduling needs.
struct Waiting {
    seq: u64,
    due: DateTime<Utc>,
}

/// One subscription's pending deliveries: per order key, by event number.
#[derive(Default)]
struct Lane {
    chains: HashMap<String, BTreeSet<u64>>,
    due: HashMap<u64, DateTime<Utc>>,
    in_flight: HashMap<String, u64>,
}

impl Lane {
    fn add(&mut self, order_key: String, waiting: Waiting) {
        self.due.insert(waiting.seq, waiting.due);
        self.chains
            .entry(order_key)
            .or_default()
            .insert(waiting.seq);
    }

    fn remove(&mut self, order_key: &str, seq: u64) {
        self.due.remove(&seq);
        if let Some(chain) = self.chains.get_mut(order_key) {
            chain.remove(&seq);
            if chain.is_empty() {
                self.chains.remove(order_key);
            }
        }
    }

    /// The oldest `room` chain heads due by `now` and not in flight, oldest first. Called
    /// for every event and every finished attempt, so it sorts only what it returns: with
    /// a thousand chats waiting, sorting them all (and copying their keys) took a sixth
    /// of the actors' thread under load.
    fn ready(&self, now: DateTime<Utc>, room: usize) -> Vec<(String, u64)> {
        if room == 0 {
            return Vec::new();
        }
        let mut ready: Vec<(&String, u64)> = self
            .chains
            .iter()
            .filter(|(key, _)| !self.in_flight.contains_key(*key))
            .filter_map(|(key, chain)| chain.first().map(|seq| (key, *seq)))
            .filter(|(_, seq)| self.due.get(seq).is_some_and(|due| *due <= now))
            .collect();
        if ready.len() > room {
            ready.select_nth_unstable_by_key(room - 1, |(_, seq)| *seq);
            ready.truncate(room);
        }
        ready.sort_unstable_by_key(|(_, seq)| *seq);
        ready
            .into_iter()
            .map(|(key, seq)| (key.clone(), seq))
            .collect()
    }

    /// The earliest time a head not in flight falls due.
    fn next_due(&self) -> Option<DateTime<Utc>> {
        self.chains
            .iter()
            .filter(|(key, _)| !self.in_flight.contains_key(*key))
            .filter_map(|(_, chain)| chain.first())
            .filter_map(|seq| self.due.get(seq).copied())
            .min()
    }
}

/// The dispatcher.
pub struct Hooks {
    store: Store,
    rules: HookRules,
    client: reqwest::Client,
    bus: Addr<EventBus>,
    /// The first id of this start: intents below it are a crash's leftovers.
    floor: u64,
    subscriptions: HashMap<u64, Subscription>,
    lanes: HashMap<u64, Lane>,
    /// When the next timer fires, if one is set.
    wake_at: Option<Instant>,
    /// Past the start-up catch-up (which covers every subscription).
    started: bool,
    /// Events whose deliveries could not all be stored (for every subscription, or for
    /// one new one): taken again after [`HookRules::retry_base`], their intents kept and
    /// the cursor held before the first, so that a restart takes them again too.
    unstored: Vec<(Event, Option<u64>)>,
    /// The newest event handed over.
    newest: u64,
    /// Whether the retry of `unstored` is set.
    retry_set: bool,
    /// Runs before each delivery is stored; an error refuses it, as a failing disk would.
    #[cfg(test)]
    before_store: Option<BeforeStore>,
}

/// A test's hook into storing a delivery.
#[cfg(test)]
type BeforeStore = Box<dyn Fn(&Delivery) -> atende_data::Result<()>>;

impl Hooks {
    /// The dispatcher; `floor` is an id taken before anything of this start could write.
    pub fn new(store: Store, rules: HookRules, bus: Addr<EventBus>, floor: u64) -> Hooks {
        let client = reqwest::Client::builder()
            .timeout(rules.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Atende-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Hooks {
            store,
            rules,
            client,
            bus,
            floor,
            subscriptions: HashMap::new(),
            lanes: HashMap::new(),
            wake_at: None,
            started: false,
            unstored: Vec::new(),
            newest: 0,
            retry_set: false,
            #[cfg(test)]
            before_store: None,
        }
    }

    /// Reads the subscriptions again. A new one is given the events since it was made
    /// that went by before the dispatcher knew of it.
    fn load_subscriptions(&mut self) {
        match self.store.subscriptions() {
            Ok(list) => {
                let known: Vec<u64> = self.subscriptions.keys().copied().collect();
                let fresh: Vec<Subscription> = list
                    .iter()
                    .filter(|s| !known.contains(&s.id))
                    .cloned()
                    .collect();
                self.subscriptions = list.into_iter().map(|s| (s.id, s)).collect();
                // Before the catch-up reads the log's end: an event logged after that
                // read is then handed over (one logged before it comes twice, made once).
                self.store
                    .set_intents_wanted(!self.subscriptions.is_empty());
                if self.started {
                    for subscription in fresh {
                        self.catch_up_new(&subscription);
                    }
                }
                self.lanes
                    .retain(|id, _| self.subscriptions.contains_key(id));
            }
            Err(error) => tracing::error!(%error, "webhook subscriptions could not be read"),
        }
    }

    /// Makes the deliveries lost with the process: events in the log after the cursor.
    fn catch_up(&mut self) {
        let result = (|| {
            let cursor = self.store.hooks_cursor()?;
            let last = self.store.last_event_seq()?;
            if cursor < last && !self.subscriptions.is_empty() {
                for event in self
                    .store
                    .events_since(cursor, last, &Viewer::everything())?
                {
                    if !self.take(&event) {
                        self.unstored.push((event, None));
                    }
                }
            }
            self.newest = last.max(cursor);
            self.save_cursor();
            self.store.pending_deliveries()
        })();
        match result {
            Ok(pending) => {
                for delivery in pending {
                    self.lanes.entry(delivery.subscription).or_default().add(
                        delivery.order_key,
                        Waiting {
                            seq: delivery.seq,
                            due: delivery.next_attempt_at,
                        },
                    );
                }
            }
            Err(error) => tracing::error!(%error, "pending webhook deliveries could not be read"),
        }
    }

    /// Makes a new subscription's deliveries of the logged events since it was made.
    fn catch_up_new(&mut self, subscription: &Subscription) {
        let since = self.store.first_event_at(subscription.created_at);
        let last = self.store.last_event_seq();
        let events = match (since, last) {
            (Ok(Some(first)), Ok(last)) => {
                self.store
                    .events_since(first - 1, last, &Viewer::everything())
            }
            (Ok(None), _) => return,
            (Err(error), _) | (_, Err(error)) => Err(error),
        };
        match events {
            Ok(events) => {
                for event in events {
                    if !self.take_for(&event, Some(subscription.id)) {
                        self.unstored.push((event, Some(subscription.id)));
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, "a new subscription's first events could not be read")
            }
        }
    }

    /// Makes the deliveries of one event, then drops its intent (after them: a crash
    /// that keeps the drop keeps them too). False, the intent kept, when some delivery
    /// could not be stored.
    fn take(&mut self, event: &Event) -> bool {
        if !self.take_for(event, None) {
            return false;
        }
        if let Some(id) = event.intent {
            if let Err(error) = self.store.intent_done(id) {
                tracing::error!(%error, "a webhook intent could not be dropped");
            }
        }
        true
    }

    /// Takes again the events whose deliveries could not all be stored.
    fn take_unstored(&mut self) {
        for (event, only) in std::mem::take(&mut self.unstored) {
            let taken = match only {
                None => self.take(&event),
                Some(id) => self.take_for(&event, Some(id)),
            };
            if !taken {
                self.unstored.push((event, only));
            }
        }
    }

    /// Moves the cursor to the newest event handed over, or to just before the first
    /// whose deliveries could not all be stored.
    fn save_cursor(&self) {
        let held = self.unstored.iter().map(|(e, _)| e.seq.saturating_sub(1));
        let cursor = held.min().unwrap_or(self.newest).min(self.newest);
        if let Err(error) = self.store.set_hooks_cursor(cursor) {
            tracing::error!(%error, "the webhook cursor could not be stored");
        }
    }

    /// Sets the retry of the events whose deliveries could not all be stored.
    fn retry_unstored(&mut self, ctx: &mut Context<Self>) {
        if self.unstored.is_empty() || self.retry_set {
            return;
        }
        tracing::warn!(
            events = self.unstored.len(),
            "webhook deliveries could not be stored; trying again"
        );
        self.retry_set = true;
        ctx.run_later(self.rules.retry_base, |hooks, ctx| {
            hooks.retry_set = false;
            hooks.take_unstored();
            hooks.save_cursor();
            hooks.retry_unstored(ctx);
            hooks.pump(ctx);
        });
    }

    /// Publishes again the events whose intents a crash left behind (their change was
    /// written, their deliveries never made), once the log's events are taken: those
    /// the log kept dropped their intents.
    fn publish_left_intents(&self) {
        let intents = match self.store.intents_before(self.floor) {
            Ok(intents) => intents,
            Err(error) => {
                tracing::error!(%error, "the webhook intents left by a crash could not be read");
                return;
            }
        };
        if !intents.is_empty() {
            tracing::warn!(
                events = intents.len(),
                "publishing the events a crash kept from the webhooks"
            );
        }
        // Those of events taken again from the log that still wait to be stored are
        // delivered with them.
        let waiting: Vec<u64> = self.unstored.iter().filter_map(|(e, _)| e.intent).collect();
        for (id, intent) in intents {
            if waiting.contains(&id) {
                continue;
            }
            match Publish::of_intent(&self.store, id, intent) {
                Some(publish) => self.bus.do_send(publish),
                None => {
                    if let Err(error) = self.store.intent_done(id) {
                        tracing::error!(%error, "a webhook intent could not be dropped");
                    }
                }
            }
        }
    }

    /// Makes the deliveries of one event, for every subscription or only `only`; false
    /// when some could not be stored.
    fn take_for(&mut self, event: &Event, only: Option<u64>) -> bool {
        let Some(HookEvent {
            name: hook,
            order_key,
            held_by,
        }) = hook_event(event)
        else {
            return true;
        };
        let mut stored = true;
        for subscription in self.subscriptions.values() {
            if only.is_some_and(|id| id != subscription.id) {
                continue;
            }
            // Disabled by an admin: not subscribed. Paused by the hub: kept for later.
            let disabled = !subscription.active && subscription.paused_reason.is_none();
            // A bot's subscription hears only of the chats that bot holds.
            let other_bots = subscription
                .bot_id
                .is_some_and(|bot| held_by.as_deref() != Some(bot.to_string().as_str()));
            if disabled
                || other_bots
                || !subscription.wants(hook)
                || event.at < subscription.created_at
            {
                continue;
            }
            let delivery = Delivery {
                subscription: subscription.id,
                seq: event.seq,
                event: hook.to_string(),
                order_key: order_key.clone(),
                body: body(
                    &atende_data::records::integration::delivery_id(subscription.id, event.seq),
                    hook,
                    event,
                ),
                state: DeliveryState::Pending,
                attempts: 0,
                log: Vec::new(),
                next_attempt_at: event.at,
                created_at: event.at,
            };
            match self.add_delivery(&delivery) {
                // New, or made before and still pending (the queue takes it once).
                Ok(Some(pending)) => self.lanes.entry(subscription.id).or_default().add(
                    pending.order_key,
                    Waiting {
                        seq: pending.seq,
                        due: pending.next_attempt_at,
                    },
                ),
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%error, "a webhook delivery could not be stored");
                    stored = false;
                }
            }
        }
        stored
    }

    fn add_delivery(&self, delivery: &Delivery) -> atende_data::Result<Option<Delivery>> {
        #[cfg(test)]
        if let Some(before) = &self.before_store {
            before(delivery)?;
        }
        self.store.add_delivery(delivery)
    }

    /// Starts every attempt that is due and may go, and sets the timer for the next.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        let now = Utc::now();
        let mut next: Option<DateTime<Utc>> = None;
        let ids: Vec<u64> = self.lanes.keys().copied().collect();
        for id in ids {
            let Some(subscription) = self.subscriptions.get(&id).cloned() else {
                continue;
            };
            if !subscription.active {
                continue;
            }
            let ready = self
                .lanes
                .get(&id)
                .map(|l| l.ready(now, IN_FLIGHT.saturating_sub(l.in_flight.len())))
                .unwrap_or_default();
            for (order_key, seq) in ready {
                let lane = self.lanes.entry(id).or_default();
                if lane.in_flight.len() >= IN_FLIGHT {
                    break;
                }
                lane.in_flight.insert(order_key.clone(), seq);
                self.attempt(ctx, subscription.clone(), order_key, seq);
            }
            let lane = &self.lanes[&id];
            if lane.in_flight.len() < IN_FLIGHT {
                next = [next, lane.next_due()].into_iter().flatten().min();
            }
        }
        if let Some(at) = next {
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            let when = Instant::now() + wait;
            if self.wake_at.is_none_or(|w| when < w) {
                self.wake_at = Some(when);
                ctx.run_later(wait, |hooks, ctx| {
                    hooks.wake_at = None;
                    hooks.pump(ctx);
                });
            }
        }
    }

    fn attempt(
        &mut self,
        ctx: &mut Context<Self>,
        subscription: Subscription,
        order_key: String,
        seq: u64,
    ) {
        let delivery = match self.store.delivery(subscription.id, seq) {
            Ok(Some(delivery)) => delivery,
            Ok(None) => {
                self.finish(subscription.id, &order_key, seq);
                return;
            }
            Err(error) => {
                tracing::error!(%error, "a webhook delivery could not be read");
                if let Some(lane) = self.lanes.get_mut(&subscription.id) {
                    lane.in_flight.remove(&order_key);
                    let later = Utc::now()
                        + chrono::Duration::from_std(self.rules.retry_base)
                            .unwrap_or(chrono::Duration::seconds(15));
                    lane.due.insert(seq, later);
                }
                return;
            }
        };
        let request = self
            .client
            .post(&subscription.url)
            .header("content-type", "application/json")
            .header(
                "x-atende-signature",
                signature(&subscription.secret, Utc::now().timestamp(), &delivery.body),
            )
            .header("x-atende-delivery", delivery.id())
            .header("x-atende-event", &delivery.event)
            .body(delivery.body.clone());
        let started = Instant::now();
        let sent = async move {
            let at = Utc::now();
            let (status, excerpt) = match request.send().await {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    // Only the start is kept: a huge answer is not read whole.
                    let mut bytes = Vec::new();
                    while bytes.len() < EXCERPT_BYTES {
                        match response.chunk().await {
                            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                            _ => break,
                        }
                    }
                    (Some(status), excerpt(&String::from_utf8_lossy(&bytes)))
                }
                Err(error) => (None, describe(&error)),
            };
            Attempt {
                at,
                status,
                latency_ms: started.elapsed().as_millis() as u64,
                excerpt,
            }
        };
        ctx.spawn(sent.into_actor(self).map(move |attempt, hooks, ctx| {
            hooks.record(delivery, attempt, &order_key);
            hooks.pump(ctx);
        }));
    }

    /// Keeps what an attempt gave and what follows from it.
    fn record(&mut self, mut delivery: Delivery, attempt: Attempt, order_key: &str) {
        let id = delivery.subscription;
        if let Some(lane) = self.lanes.get_mut(&id) {
            lane.in_flight.remove(order_key);
        }
        // Removed while the attempt was out: its deliveries went with it.
        if !self.subscriptions.contains_key(&id) {
            return;
        }
        let ok = attempt.status.is_some_and(|s| (200..300).contains(&s));
        let now = attempt.at;
        // A redelivery asked for while this attempt was out: it goes again.
        let redelivered = matches!(
            self.store.delivery(id, delivery.seq),
            Ok(Some(stored)) if stored.attempts == 0 && delivery.attempts > 0
        );
        delivery.attempts += 1;
        delivery.log.push(attempt);
        if delivery.log.len() > KEPT_ATTEMPTS {
            delivery.log.remove(0);
        }
        if ok {
            delivery.state = DeliveryState::Delivered;
        } else if now - delivery.created_at >= self.rules.give_up_after {
            delivery.state = DeliveryState::Failed;
        } else {
            let wait = chrono::Duration::from_std(self.rules.backoff(delivery.attempts))
                .unwrap_or(chrono::Duration::hours(1));
            delivery.next_attempt_at = now + wait;
        }
        if redelivered {
            delivery.state = DeliveryState::Pending;
            delivery.next_attempt_at = now;
        }
        if let Err(error) = self.store.put_delivery(&delivery) {
            tracing::error!(%error, "a webhook delivery's attempt could not be stored");
        }
        match delivery.state {
            DeliveryState::Pending => {
                if let Some(lane) = self.lanes.get_mut(&id) {
                    lane.due.insert(delivery.seq, delivery.next_attempt_at);
                }
            }
            _ => self.finish(id, order_key, delivery.seq),
        }
        self.health(id, ok, now);
    }

    fn finish(&mut self, subscription: u64, order_key: &str, seq: u64) {
        if let Some(lane) = self.lanes.get_mut(&subscription) {
            lane.remove(order_key, seq);
        }
    }

    /// Follows a subscription's health: clears its failing mark on success, pauses it
    /// when it has failed too long.
    fn health(&mut self, id: u64, ok: bool, now: DateTime<Utc>) {
        let Some(known) = self.subscriptions.get(&id) else {
            return;
        };
        let pause_after = self.rules.pause_after;
        let change = |s: &mut Subscription| match (ok, s.failing_since) {
            (true, _) => s.failing_since = None,
            (false, None) => s.failing_since = Some(now),
            (false, Some(since)) if now - since >= pause_after && s.active => {
                s.active = false;
                s.paused_reason = Some("failing".into());
            }
            (false, Some(_)) => {}
        };
        let mut expected = known.clone();
        change(&mut expected);
        if expected == *known {
            return;
        }
        // Only these marks change, on the stored record: an admin's edit meanwhile stays.
        let stored = self.store.update_subscription(id, |s| {
            change(s);
            s.updated_at = now;
        });
        match stored {
            Ok(Some(subscription)) => {
                let paused = known.active && !subscription.active;
                self.subscriptions.insert(id, subscription.clone());
                if paused {
                    self.paused(&subscription);
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, "a webhook subscription's state could not be stored")
            }
        }
    }

    /// Tells the admins (audit log, and an event their consoles show) that `subscription`
    /// was paused.
    fn paused(&self, subscription: &Subscription) {
        tracing::warn!(
            subscription = subscription.id,
            "a webhook subscription was paused after failing"
        );
        let _ = self.store.audit(AuditEntry {
            id: 0,
            at: Utc::now(),
            actor: None,
            action: "webhook.paused".into(),
            target: Some(subscription.id.to_string()),
            address: None,
            detail: subscription.paused_reason.clone(),
        });
        self.bus.do_send(Publish {
            name: "integration.paused",
            scope: Scope::Staff,
            payload: Payload::Json(serde_json::json!({
                "subscription_id": subscription.id.to_string(),
                "url": shown_url(&subscription.url),
                "reason": subscription.paused_reason,
            })),
            flushed: false,
            intent: None,
        });
    }
}

impl Actor for Hooks {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.load_subscriptions();
        self.catch_up();
        self.publish_left_intents();
        self.started = true;
        self.retry_unstored(ctx);
        self.pump(ctx);
        ctx.run_interval(PRUNE_EVERY, |hooks, _| {
            if let Err(error) = hooks.store.prune_deliveries(Utc::now() - KEEP_FINISHED) {
                tracing::warn!(%error, "old webhook deliveries could not be pruned");
            }
        });
    }
}

impl Handler<Fanned> for Hooks {
    type Result = ();

    fn handle(&mut self, msg: Fanned, ctx: &mut Context<Self>) {
        let event = msg.0;
        self.newest = self.newest.max(event.seq);
        if !self.take(&event) {
            self.unstored.push((event, None));
        }
        self.save_cursor();
        self.retry_unstored(ctx);
        self.pump(ctx);
    }
}

impl Handler<SubscriptionsChanged> for Hooks {
    type Result = ();

    fn handle(&mut self, _: SubscriptionsChanged, ctx: &mut Context<Self>) {
        self.load_subscriptions();
        self.retry_unstored(ctx);
        self.pump(ctx);
    }
}

impl Handler<Redeliver> for Hooks {
    type Result = crate::Result<()>;

    fn handle(&mut self, msg: Redeliver, ctx: &mut Context<Self>) -> Self::Result {
        let mut delivery = self
            .store
            .delivery(msg.subscription, msg.seq)?
            .ok_or(crate::Error::NotFound)?;
        let now = Utc::now();
        delivery.state = DeliveryState::Pending;
        delivery.next_attempt_at = now;
        // Counted afresh (the log keeps the earlier attempts), so its retries start over.
        delivery.attempts = 0;
        delivery.created_at = now;
        self.store.put_delivery(&delivery)?;
        self.lanes.entry(msg.subscription).or_default().add(
            delivery.order_key,
            Waiting {
                seq: msg.seq,
                due: now,
            },
        );
        self.pump(ctx);
        Ok(())
    }
}

/// The webhook event an event is, and what orders its deliveries; `None` for events no
/// subscription can ask for (typing, presence ...).
fn hook_event(event: &Event) -> Option<HookEvent> {
    #[derive(Deserialize)]
    struct Chat {
        status: Option<String>,
        bot_id: Option<String>,
    }
    #[derive(Deserialize)]
    struct Head {
        id: Option<String>,
        chat_id: Option<String>,
        change: Option<String>,
        status: Option<String>,
        bot_id: Option<String>,
        chat: Option<Chat>,
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let name: &'static str = match event.name.as_str() {
        "chat.updated" => "chat.updated",
        other => HOOK_EVENTS.iter().find(|e| **e == other)?,
    };
    let head: Head = serde_json::from_str(&event.data).ok()?;
    // Lines that tell what happened are the console's: integrations get chat.* events.
    if head.kind.as_deref() == Some("activity") {
        return None;
    }
    let name = match (name, head.change.as_deref()) {
        ("chat.updated", Some("claimed" | "assigned" | "transferred")) => "chat.assigned",
        ("chat.updated", Some("closed")) => "chat.closed",
        (name, _) => name,
    };
    // The bot holding the chat the event is about, if one does.
    let (status, bot) = match head.chat {
        Some(chat) => (chat.status, chat.bot_id),
        None => (head.status, head.bot_id),
    };
    // The hand-off itself is still the bot's to hear of.
    let held = status.as_deref() == Some("bot") || head.change.as_deref() == Some("handoff");
    let held_by = bot.filter(|_| held);
    let order_key = match name {
        "contact.updated" => format!("contact:{}", head.id?),
        _ if name.starts_with("chat.") => format!("chat:{}", head.id?),
        _ => format!("chat:{}", head.chat_id?),
    };
    Some(HookEvent {
        name,
        order_key,
        held_by,
    })
}

/// What the dispatcher needs to know of an event.
#[derive(Debug, PartialEq)]
struct HookEvent {
    name: &'static str,
    /// Deliveries with the same key go in order.
    order_key: String,
    /// The bot (token id) holding the event's chat.
    held_by: Option<String>,
}

/// A delivery's JSON body: its id, the event's name and time, and the event's data.
fn body(id: &str, hook: &str, event: &Event) -> String {
    format!(
        r#"{{"id":"{id}","event":"{hook}","created_at":{},"data":{}}}"#,
        serde_json::Value::String(
            event
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
        event.data
    )
}

/// A URL as staff may see it: without credentials or a query, where secrets may hide.
fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut url) => {
            url.set_query(None);
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => String::new(),
    }
}

fn excerpt(text: &str) -> String {
    let mut end = text.len().min(EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Why a request got no answer, in a few words (never the URL's query, which may hold a
/// secret).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        "the request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;
    use crate::agent_session::PresenceBoard;
    use crate::events::{PresenceRules, Retention, SetHooks};

    /// Waits for `done`, for 10 s at most.
    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "{what}: not within 10 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A bus that renders a JSON payload as it is.
    fn bus(store: &Store) -> EventBus {
        let render: crate::events::Renderer = |payload, _| match payload {
            Payload::Json(data) => data.to_string(),
            _ => "{}".into(),
        };
        let retention = Retention {
            max_events: 100,
            max_age: chrono::Duration::hours(1),
        };
        let presence = PresenceRules {
            offline_grace: Duration::ZERO,
        };
        EventBus::new(
            store.clone(),
            render,
            retention,
            presence,
            PresenceBoard::default(),
        )
    }

    /// A subscription to every event, paused (it gathers deliveries, none is sent).
    fn paused_subscription(store: &Store) -> Subscription {
        let now = Utc::now() - chrono::Duration::minutes(1);
        let subscription = Subscription {
            id: store.integration_id().unwrap(),
            url: "http://127.0.0.1:9/hooks".into(),
            events: Vec::new(),
            secret: "secret".into(),
            description: None,
            active: false,
            paused_reason: Some("failing".into()),
            failing_since: None,
            created_by: atende_data::UserId(1),
            created_at: now,
            updated_at: now,
            bot_id: None,
        };
        store.put_subscription(&subscription).unwrap();
        subscription
    }

    fn contact_updated(id: &str) -> Publish {
        Publish {
            name: "contact.updated",
            scope: Scope::Staff,
            payload: Payload::Json(serde_json::json!({ "id": id })),
            flushed: true,
            intent: None,
        }
    }

    #[test]
    fn a_lane_offers_the_oldest_due_heads_that_fit_its_room() {
        let now = Utc::now();
        let mut lane = Lane::default();
        let waiting = |seq, minutes| Waiting {
            seq,
            due: now + chrono::Duration::minutes(minutes),
        };
        lane.add("chat-a".into(), waiting(5, -1));
        lane.add("chat-a".into(), waiting(9, -1)); // behind 5 in its chat
        lane.add("chat-b".into(), waiting(3, -1));
        lane.add("chat-c".into(), waiting(7, -1));
        lane.add("chat-d".into(), waiting(1, 10)); // not due yet
        lane.add("chat-e".into(), waiting(2, -1));
        lane.in_flight.insert("chat-e".into(), 2);
        let keys = |ready: Vec<(String, u64)>| ready.into_iter().map(|r| r.1).collect::<Vec<_>>();
        assert_eq!(keys(lane.ready(now, 2)), [3, 5]);
        assert_eq!(keys(lane.ready(now, 10)), [3, 5, 7]);
        assert_eq!(keys(lane.ready(now, 0)), Vec::<u64>::new());
    }

    #[actix::test]
    async fn an_event_whose_deliveries_could_not_be_stored_keeps_its_intent_and_is_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let floor = store.new_id().unwrap();
        let subscription = paused_subscription(&store);
        let intent_id = store.new_id().unwrap();
        let mut write = atende_data::Write::default();
        write.intent(
            intent_id,
            &atende_data::Intent {
                name: "contact.updated".into(),
                change: None,
                chat_id: None,
                message_id: None,
                contact_id: Some(atende_data::ContactId(5)),
                data: None,
            },
        );
        store.commit(write).unwrap();
        let rules = HookRules {
            retry_base: Duration::from_millis(20),
            ..HookRules::default()
        };
        let mut hooks = Hooks::new(store.clone(), rules, bus(&store).start(), floor);
        let failing = Rc::new(Cell::new(true));
        let disk = failing.clone();
        hooks.before_store = Some(Box::new(move |_| match disk.get() {
            true => Err(atende_data::Error::Closed),
            false => Ok(()),
        }));
        let hooks = hooks.start();
        let event = Event {
            seq: 3,
            name: "contact.updated".into(),
            data: serde_json::json!({"id": "5"}).to_string(),
            scope: Scope::Staff,
            at: Utc::now(),
            message_id: None,
            intent: Some(intent_id),
        };

        hooks.send(Fanned(event)).await.unwrap();
        assert_eq!(store.delivery(subscription.id, 3).unwrap(), None);
        let intents = || store.intents_before(u64::MAX).unwrap();
        assert_eq!(
            intents().len(),
            1,
            "the intent stays until its deliveries are made"
        );
        assert!(
            store.hooks_cursor().unwrap() < 3,
            "the cursor stays before it: a restart takes it again"
        );

        failing.set(false);
        until("the event taken again", || {
            store.delivery(subscription.id, 3).unwrap().is_some()
                && intents().is_empty()
                && store.hooks_cursor().unwrap() == 3
        })
        .await;
        assert_eq!(store.pending_deliveries_of(subscription.id).unwrap(), 1);
    }

    #[actix::test]
    async fn an_event_logged_while_the_first_subscription_catches_up_reaches_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let floor = store.new_id().unwrap();
        // The bus on a thread of its own, as in the hub: it logs while the dispatcher
        // catches up.
        let bus_store = store.clone();
        let arbiter = Arbiter::new();
        let bus = EventBus::start_in_arbiter(&arbiter.handle(), move |_| bus(&bus_store));
        let mut hooks = Hooks::new(store.clone(), HookRules::default(), bus.clone(), floor);
        // While the new subscription's first event is being stored, another is logged.
        let (logger, log) = (bus.clone(), store.clone());
        let logged = Cell::new(false);
        hooks.before_store = Some(Box::new(move |_| {
            if !logged.replace(true) {
                logger.do_send(contact_updated("2"));
                let deadline = Instant::now() + Duration::from_secs(10);
                while log.last_event_seq().unwrap() < 2 {
                    assert!(Instant::now() < deadline, "the second event was not logged");
                    std::thread::yield_now();
                }
            }
            Ok(())
        }));
        let hooks = hooks.start();
        bus.send(SetHooks(hooks.clone().recipient())).await.unwrap();
        // Before any subscription: logged, not handed over.
        bus.send(contact_updated("1")).await.unwrap();
        until("the first event logged", || {
            store.last_event_seq().unwrap() == 1
        })
        .await;

        let subscription = paused_subscription(&store);
        hooks.send(SubscriptionsChanged).await.unwrap();
        until("both events' deliveries", || {
            let made = |seq| store.delivery(subscription.id, seq).unwrap().is_some();
            made(1) && made(2)
        })
        .await;
        arbiter.stop();
    }

    fn event(name: &str, data: serde_json::Value) -> Event {
        Event {
            seq: 7,
            name: name.into(),
            data: data.to_string(),
            scope: Scope::Staff,
            at: Utc::now(),
            message_id: None,
            intent: None,
        }
    }

    #[test]
    fn chat_changes_become_the_hook_events_integrations_ask_for() {
        let claimed = event(
            "chat.updated",
            serde_json::json!({"id": "5", "change": "claimed"}),
        );
        let named = |e: &Event| hook_event(e).map(|h| (h.name, h.order_key));
        assert_eq!(named(&claimed), Some(("chat.assigned", "chat:5".into())));
        let closed = event(
            "chat.updated",
            serde_json::json!({"id": "5", "change": "closed"}),
        );
        assert_eq!(named(&closed), Some(("chat.closed", "chat:5".into())));
        let read = event(
            "chat.updated",
            serde_json::json!({"id": "5", "change": "read"}),
        );
        assert_eq!(named(&read), Some(("chat.updated", "chat:5".into())));
        let message = event(
            "message.created",
            serde_json::json!({"id": "9", "chat_id": "5"}),
        );
        assert_eq!(named(&message), Some(("message.created", "chat:5".into())));
        let held = event(
            "message.created",
            serde_json::json!({"id": "9", "chat_id": "5", "chat": {"status": "bot", "bot_id": "3"}}),
        );
        assert_eq!(hook_event(&held).unwrap().held_by.as_deref(), Some("3"));
        let typing = event("typing", serde_json::json!({"chat_id": "5"}));
        assert_eq!(named(&typing), None);
    }

    #[test]
    fn the_body_is_json_with_the_event_data_as_it_was() {
        let e = event(
            "message.created",
            serde_json::json!({"id": "9", "chat_id": "5"}),
        );
        let parsed: serde_json::Value =
            serde_json::from_str(&body("1-7", "message.created", &e)).unwrap();
        assert_eq!(parsed["id"], "1-7");
        assert_eq!(parsed["event"], "message.created");
        assert_eq!(parsed["data"]["chat_id"], "5");
    }

    #[test]
    fn signatures_follow_the_documented_recipe() {
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", 1_700_000_000, "{}"),
            "t=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let rules = HookRules::default();
        assert_eq!(rules.backoff(1), Duration::from_secs(15));
        assert_eq!(rules.backoff(2), Duration::from_secs(30));
        assert_eq!(rules.backoff(40), Duration::from_secs(3600));
    }
}
